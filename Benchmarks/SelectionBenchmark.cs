using BenchmarkDotNet.Attributes;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// The magnitude-pruning threshold: the k-th smallest of n scores (k = n/5, i.e. prune 20 %), by
/// <see cref="Selection.KthSmallest(Span{float}, int)"/> against a full <see cref="Array.Sort{T}(T[])"/>.
/// Scores are |x| for x standard normal, like weight magnitudes, from a fixed seed. Selection reorders
/// its input, so both methods first copy the scores into the same preallocated buffer: the copy
/// (n floats) is part of both times, and neither allocates.
/// </summary>
public class SelectionBenchmark
{
    private float[] scores = null!;
    private float[] buffer = null!;

    [Params(10_000, 100_000, 1_000_000, 10_000_000)]
    public int N { get; set; }

    private int K => N / 5;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        scores = new float[N];
        for (int i = 0; i < N; i++)
        {
            double normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            scores[i] = (float)Math.Abs(normal);
        }

        buffer = new float[N];
    }

    [Benchmark(Baseline = true)]
    public float ArraySort()
    {
        scores.CopyTo(buffer, 0);
        Array.Sort(buffer);
        return buffer[K];
    }

    [Benchmark]
    public float KthSmallest()
    {
        scores.CopyTo(buffer, 0);
        return Selection.KthSmallest(buffer.AsSpan(), K);
    }
}
