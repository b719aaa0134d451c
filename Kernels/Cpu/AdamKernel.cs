using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// One fused Adam update over a parameter tensor: a single pass reads θ, g, m, v and writes θ, m, v,
/// instead of the eight or so passes the same update takes as separate elementwise operations.
/// </summary>
public static class AdamKernel
{
    /// <summary>
    /// g' = g + λθ; m ← β₁m + (1−β₁)g'; v ← β₂v + (1−β₂)g'²; θ ← θ − stepSize·m / (√v·invRootC2 + ε),
    /// where stepSize = lr/(1−β₁ᵗ) and invRootC2 = 1/√(1−β₂ᵗ) carry the bias corrections.
    /// All four spans have the same length; θ, m and v are updated in place.
    /// </summary>
    public static unsafe void Step(Span<float> theta, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        int n = theta.Length;
        if (grad.Length != n || m.Length != n || v.Length != n)
        {
            throw new ArgumentException($"adam: θ has {n} elements but g {grad.Length}, m {m.Length}, v {v.Length}");
        }

        var k = new Constants(beta1, beta2, eps, weightDecay, stepSize, invRootC2);
        if (n < ParallelThreshold)
        {
            Range(theta, grad, m, v, k);
            return;
        }

        // Each element's update is independent of every other, so splitting the range between threads
        // cannot change any result.
        fixed (float* t = theta, g = grad, mm = m, vv = v)
        {
            KernelWorkers.RunRanges(new Blocks(t, g, mm, vv, n, k), (n + BlockFloats - 1) / BlockFloats, KernelWorkers.MaxParts);
        }
    }

    /// <summary>Below this many elements one thread is faster than waking the workers.</summary>
    internal const int ParallelThreshold = 1 << 15;

    // Ranges are split on multiples of 64 floats, so every part's vectors stay on whole cache lines.
    private const int BlockFloats = 64;

    /// <summary>One update over pinned data, run a range of 64-float blocks at a time.</summary>
    private readonly unsafe struct Blocks(float* t, float* g, float* m, float* v, int n, Constants k) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int from = Math.Min(n, start * BlockFloats), to = Math.Min(n, end * BlockFloats), len = to - from;
            Range(new Span<float>(t + from, len), new ReadOnlySpan<float>(g + from, len), new Span<float>(m + from, len), new Span<float>(v + from, len), k);
        }
    }

    private static void Range(Span<float> theta, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, Constants k)
    {
        int n = theta.Length;

        ref float t = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(theta);
        ref float g = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(grad);
        ref float mm = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(m);
        ref float vv = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(v);
        int i = Vector512.IsHardwareAccelerated ? Vectors<Vector512<float>, Ops512>(ref t, ref g, ref mm, ref vv, n, k)
            : Vector256.IsHardwareAccelerated ? Vectors<Vector256<float>, Ops256>(ref t, ref g, ref mm, ref vv, n, k)
            : Vector128.IsHardwareAccelerated ? Vectors<Vector128<float>, Ops128>(ref t, ref g, ref mm, ref vv, n, k)
            : 0;

        for (; i < n; i++)
        {
            One(ref Unsafe.Add(ref t, i), Unsafe.Add(ref g, i), ref Unsafe.Add(ref mm, i), ref Unsafe.Add(ref vv, i), k);
        }
    }

    /// <summary>
    /// <see cref="Step"/> at the kept positions of a pruned parameter only: entry e of row r of a CSR structure
    /// (<see cref="SparseRows"/>) is the element at flat position r·<paramref name="rowLength"/> + columns[e] of the
    /// dense <paramref name="theta"/>, and element e of the moments <paramref name="m"/> and <paramref name="v"/>,
    /// which are stored compressed (one per kept entry, in entry order). The gradient is dense, or compressed like the
    /// moments when <paramref name="gradIsCompressed"/>. Every other element of θ is left as it is, and each kept
    /// element gets exactly the bits <see cref="Step"/> gives it. Only θ (and a dense gradient) is read at scattered
    /// positions; the moments stream. <paramref name="keptValues"/>, when not empty, receives the new θ of each kept
    /// element in entry order as well (the values of a <see cref="SparseRows"/>, kept current without a gather).
    /// </summary>
    public static unsafe void StepKept(ReadOnlySpan<int> rowStarts, ReadOnlySpan<int> columns, int rowLength, Span<float> theta, ReadOnlySpan<float> grad, bool gradIsCompressed,
        Span<float> m, Span<float> v, Span<float> keptValues, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        int n = theta.Length, count = columns.Length;
        if (grad.Length != (gradIsCompressed ? count : n) || m.Length != count || v.Length != count || (!keptValues.IsEmpty && keptValues.Length != count))
        {
            throw new ArgumentException($"adam: θ has {n} elements and {count} are kept, but g has {grad.Length}{(gradIsCompressed ? " (compressed)" : string.Empty)}, m {m.Length}, v {v.Length}, kept values {keptValues.Length}");
        }

        int rows = SparseSteps.CheckStructure("adam", rowStarts, columns, rowLength, n);
        var k = new Constants(beta1, beta2, eps, weightDecay, stepSize, invRootC2);
        fixed (int* starts = rowStarts, cols = columns)
        fixed (float* t = theta, g = grad, mm = m, vv = v, kv = keptValues)
        {
            SparseSteps.Run(new Kept(starts, cols, rowLength, t, g, gradIsCompressed, mm, vv, keptValues.IsEmpty ? null : kv, k), rows, count);
        }
    }

    /// <summary>
    /// Rows of kept positions, updated one element at a time. In a large sparse parameter each kept element of θ sits on
    /// a cache line of its own, so the loop waits on memory, not arithmetic: the θ (and dense gradient) lines of the
    /// element <see cref="SparseSteps.PrefetchDistance"/> entries ahead are requested early.
    /// </summary>
    private readonly unsafe struct Kept(int* starts, int* cols, int rowLength, float* t, float* g, bool gradIsCompressed, float* m, float* v, float* kv, Constants k) : IRangeWork
    {
        public void Run(int start, int end)
        {
            var ahead = new SparseSteps.Lookahead(starts, cols, rowLength, start, end);
            for (int r = start; r < end; r++)
            {
                nint row = (nint)r * rowLength;
                for (int e = starts[r]; e < starts[r + 1]; e++)
                {
                    if (ahead.Next(e) is var next and >= 0)
                    {
                        SparseSteps.Prefetch(t + next, gradIsCompressed ? null : g + next, null, null);
                    }

                    nint i = row + cols[e];
                    One(ref t[i], gradIsCompressed ? g[e] : g[i], ref m[e], ref v[e], k);
                    if (kv != null)
                    {
                        kv[e] = t[i];
                    }
                }
            }
        }
    }

    // One element's update with the vector loop's fused operations, so an element's result never depends on whether
    // it fell in a vector, in the tail or in a sparse step.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void One(ref float t, float grad, ref float m, ref float v, Constants k)
    {
        float th = t;
        float gi = MathF.FusedMultiplyAdd(k.WeightDecay, th, grad);
        float mi = MathF.FusedMultiplyAdd(k.Beta1, m, (1f - k.Beta1) * gi);
        float vi = MathF.FusedMultiplyAdd(k.Beta2, v, (1f - k.Beta2) * gi * gi);
        m = mi;
        v = vi;
        float denom = MathF.FusedMultiplyAdd(MathF.Sqrt(vi), k.InvRootC2, k.Eps);
        t = MathF.FusedMultiplyAdd(-k.StepSize, mi / denom, th);
    }

    private readonly record struct Constants(float Beta1, float Beta2, float Eps, float WeightDecay, float StepSize, float InvRootC2);

    // The whole vectors of one update at one width; returns where the scalar tail starts. One loop serves every
    // width: the JIT specialises it per vector struct, and each width performs the same fused operations per
    // element as the tail, so an element's result never depends on the width or on where it fell.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Vectors<TV, TOps>(ref float t, ref float g, ref float mm, ref float vv, int n, Constants k)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        var b1 = TOps.Create(k.Beta1);
        var c1 = TOps.Create(1f - k.Beta1);
        var b2 = TOps.Create(k.Beta2);
        var c2 = TOps.Create(1f - k.Beta2);
        var e = TOps.Create(k.Eps);
        var wd = TOps.Create(k.WeightDecay);
        var s = TOps.Create(-k.StepSize);
        var r = TOps.Create(k.InvRootC2);
        int i = 0;
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            var th = TOps.Load(ref t, i);
            var gi = TOps.Fma(wd, th, TOps.Load(ref g, i));
            var mi = TOps.Fma(b1, TOps.Load(ref mm, i), TOps.Mul(c1, gi));
            var vi = TOps.Fma(b2, TOps.Load(ref vv, i), TOps.Mul(TOps.Mul(c2, gi), gi));
            TOps.Store(mi, ref mm, i);
            TOps.Store(vi, ref vv, i);
            var denom = TOps.Fma(TOps.Sqrt(vi), r, e);
            TOps.Store(TOps.Fma(s, TOps.Div(mi, denom), th), ref t, i);
        }

        return i;
    }
}
