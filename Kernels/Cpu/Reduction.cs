using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Reductions along one axis of a row-major array, vectorised across the contiguous elements after that axis, so
/// each output element sees its inputs in the same order, one by one, as a scalar loop would.
/// </summary>
public static class Reduction
{
    /// <summary>
    /// The maximum along the middle axis of x seen as [outer, n, inner]: destination[o·inner + i] is
    /// <see cref="Math.Max(float, float)"/> folded over x[(o·n + k)·inner + i] for k = 0 … n−1, starting from −∞
    /// (so NaN anywhere gives NaN, +0 is above −0, and n = 0 gives −∞).
    /// </summary>
    /// <param name="x">The input, outer·n·inner elements.</param>
    /// <param name="outer">The product of the dimensions before the axis.</param>
    /// <param name="n">The length of the axis.</param>
    /// <param name="inner">The product of the dimensions after the axis.</param>
    /// <param name="destination">The output, outer·inner elements, not overlapping <paramref name="x"/>.</param>
    public static void MaxAlong(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> destination)
    {
        if (outer < 0 || n < 0 || inner < 0 || (long)outer * n * inner != x.Length || (long)outer * inner != destination.Length)
        {
            throw new ArgumentException(
                $"max along: [{outer}, {n}, {inner}] needs x of {(long)outer * n * inner} and destination of {(long)outer * inner}, got {x.Length} and {destination.Length}");
        }

        if (x.Overlaps(destination))
        {
            throw new ArgumentException("max along: destination overlaps x", nameof(destination));
        }

        if (destination.IsEmpty)
        {
            return;
        }

        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(destination);
        switch (Elementwise.Width(inner))
        {
            case 16: Columns<Vector512<float>, Ops512, MaxOperator>(ref xr, ref rr, outer, n, inner, float.NegativeInfinity); break;
            case 8: Columns<Vector256<float>, Ops256, MaxOperator>(ref xr, ref rr, outer, n, inner, float.NegativeInfinity); break;
            case 4: Columns<Vector128<float>, Ops128, MaxOperator>(ref xr, ref rr, outer, n, inner, float.NegativeInfinity); break;
            default: Columns<float, OpsScalar, MaxOperator>(ref xr, ref rr, outer, n, inner, float.NegativeInfinity); break;
        }
    }

    /// <summary>
    /// Sums of the runs of x seen as [outer, n, inner] per middle index (a convolution's bias gradient: one sum per
    /// channel over images and positions): destination[m] = 0 + S(0, m) + S(1, m) + … in order of o, where S(o, m) is
    /// <see cref="System.Numerics.Tensors.TensorPrimitives.Sum(ReadOnlySpan{float})"/> of the run of inner values at
    /// (o·n + m)·inner. Each destination element is computed by one thread in that order, so the bits do not depend on
    /// how the middle indices are shared between the cores.
    /// </summary>
    /// <param name="x">The input, outer·n·inner elements.</param>
    /// <param name="outer">The product of the dimensions before the runs' index.</param>
    /// <param name="n">The number of middle indices (channels).</param>
    /// <param name="inner">The length of each run.</param>
    /// <param name="destination">The output, n elements, not overlapping <paramref name="x"/>.</param>
    public static unsafe void SumRuns(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> destination)
    {
        if (outer < 0 || n < 0 || inner < 0 || (long)outer * n * inner != x.Length || n != destination.Length)
        {
            throw new ArgumentException(
                $"sum runs: [{outer}, {n}, {inner}] needs x of {(long)outer * n * inner} and destination of {n}, got {x.Length} and {destination.Length}");
        }

        if (x.Overlaps(destination))
        {
            throw new ArgumentException("sum runs: destination overlaps x", nameof(destination));
        }

        fixed (float* px = x, pr = destination)
        {
            KernelWorkers.RunRanges(new RunSums(px, pr, outer, n, inner), n, x.Length < ParallelChunks.MinParallelLength ? 1 : KernelWorkers.MaxParts);
        }
    }

    private readonly unsafe struct RunSums(float* x, float* destination, int outer, int n, int inner) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int m = start; m < end; m++)
            {
                float sum = 0f;
                for (int o = 0; o < outer; o++)
                {
                    sum += System.Numerics.Tensors.TensorPrimitives.Sum(new ReadOnlySpan<float>(x + ((((nint)o * n) + m) * inner), inner));
                }

                destination[m] = sum;
            }
        }
    }

    // Folds TOp down the rows of each [n, inner] block, one vector of columns at a time, from seed. Needs
    // inner ≥ Count; the last vector of columns overlaps the one before it unless inner is a multiple of Count,
    // which only recomputes the same values because the destination does not overlap the input.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns<TV, TOps, TOp>(ref float x, ref float r, int outer, int n, int inner, float seed)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
        where TOp : struct, IBinaryOperator<TV>
    {
        var start = TOps.Create(seed);
        int last = inner - TOps.Count;
        for (int o = 0; o < outer; o++)
        {
            ref float block = ref Unsafe.Add(ref x, o * n * inner);
            ref float row = ref Unsafe.Add(ref r, o * inner);
            for (int j = 0; j < inner; j += TOps.Count)
            {
                int col = Math.Min(j, last);
                var acc = start;
                for (int k = 0; k < n; k++)
                {
                    acc = TOp.Invoke(acc, TOps.Load(ref block, (k * inner) + col));
                }

                TOps.Store(acc, ref row, col);
            }
        }
    }
}
