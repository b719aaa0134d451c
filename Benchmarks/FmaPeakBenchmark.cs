using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace SparseNet.Benchmarks;

/// <summary>
/// This machine's peak FMA throughput: <see cref="FmaPeak.Chains"/> (12 independent
/// FMA chains at the widest accelerated width, no memory traffic) on one thread and on every core.
/// </summary>
[Config(typeof(Config))]
public class FmaPeakBenchmark
{
    /// <summary>~5 ms of FMAs per thread, so starting the threads costs little.</summary>
    private const long Iterations = 400_000;

    public static IEnumerable<int> ThreadCounts => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    [Benchmark]
    public float Fma() => Threads == 1 ? FmaPeak.Chains(Iterations) : FmaPeak.Parallel(Threads, Iterations);

    private static long Flops(BenchmarkCase c) => FmaPeak.FlopsPerCall(Iterations) * (int)c.Parameters["Threads"];

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new GflopsColumn(false, Flops), new GflopsColumn(true, Flops));
        }
    }
}
