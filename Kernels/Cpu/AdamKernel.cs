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

        if (n < ParallelThreshold)
        {
            Range(theta, grad, m, v, beta1, beta2, eps, weightDecay, stepSize, invRootC2);
            return;
        }

        // Each element's update is independent of every other, so splitting the range between threads
        // cannot change any result.
        fixed (float* t = theta, g = grad, mm = m, vv = v)
        {
            var work = t_work ??= new AdamWork();
            work.Set(t, g, mm, vv, n, beta1, beta2, eps, weightDecay, stepSize, invRootC2);
            KernelWorkers.Run(work, KernelWorkers.MaxParts);
            work.Set(null, null, null, null, 0, 0, 0, 0, 0, 0, 0);
        }
    }

    /// <summary>Below this many elements one thread is faster than waking the workers.</summary>
    internal const int ParallelThreshold = 1 << 15;

    [ThreadStatic]
    private static AdamWork? t_work;

    private sealed unsafe class AdamWork : IPartitionedWork
    {
        private float* _t, _g, _m, _v;
        private int _n;
        private float _beta1, _beta2, _eps, _weightDecay, _stepSize, _invRootC2;

        public void Set(float* t, float* g, float* m, float* v, int n, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
        {
            _t = t;
            _g = g;
            _m = m;
            _v = v;
            _n = n;
            (_beta1, _beta2, _eps, _weightDecay, _stepSize, _invRootC2) = (beta1, beta2, eps, weightDecay, stepSize, invRootC2);
        }

        public void Execute(int part, int parts)
        {
            // Part boundaries on multiples of 64 floats keep every part's vectors on whole cache lines.
            int blocks = (_n + 63) / 64;
            int start = Math.Min(_n, (int)((long)blocks * part / parts) * 64);
            int end = Math.Min(_n, (int)((long)blocks * (part + 1) / parts) * 64);
            int len = end - start;
            Range(new Span<float>(_t + start, len), new ReadOnlySpan<float>(_g + start, len), new Span<float>(_m + start, len), new Span<float>(_v + start, len),
                _beta1, _beta2, _eps, _weightDecay, _stepSize, _invRootC2);
        }
    }

    private static void Range(Span<float> theta, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        int n = theta.Length;

        ref float t = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(theta);
        ref float g = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(grad);
        ref float mm = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(m);
        ref float vv = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var b1 = Vector512.Create(beta1);
            var c1 = Vector512.Create(1f - beta1);
            var b2 = Vector512.Create(beta2);
            var c2 = Vector512.Create(1f - beta2);
            var e = Vector512.Create(eps);
            var wd = Vector512.Create(weightDecay);
            var s = Vector512.Create(-stepSize);
            var r = Vector512.Create(invRootC2);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var th = Vector512.LoadUnsafe(ref t, (nuint)i);
                var gi = Vector512.FusedMultiplyAdd(wd, th, Vector512.LoadUnsafe(ref g, (nuint)i));
                var mi = Vector512.FusedMultiplyAdd(b1, Vector512.LoadUnsafe(ref mm, (nuint)i), c1 * gi);
                var vi = Vector512.FusedMultiplyAdd(b2, Vector512.LoadUnsafe(ref vv, (nuint)i), c2 * gi * gi);
                mi.StoreUnsafe(ref mm, (nuint)i);
                vi.StoreUnsafe(ref vv, (nuint)i);
                var denom = Vector512.FusedMultiplyAdd(Vector512.Sqrt(vi), r, e);
                Vector512.FusedMultiplyAdd(s, mi / denom, th).StoreUnsafe(ref t, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(beta1);
            var c1 = Vector256.Create(1f - beta1);
            var b2 = Vector256.Create(beta2);
            var c2 = Vector256.Create(1f - beta2);
            var e = Vector256.Create(eps);
            var wd = Vector256.Create(weightDecay);
            var s = Vector256.Create(-stepSize);
            var r = Vector256.Create(invRootC2);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var th = Vector256.LoadUnsafe(ref t, (nuint)i);
                var gi = Vector256.FusedMultiplyAdd(wd, th, Vector256.LoadUnsafe(ref g, (nuint)i));
                var mi = Vector256.FusedMultiplyAdd(b1, Vector256.LoadUnsafe(ref mm, (nuint)i), c1 * gi);
                var vi = Vector256.FusedMultiplyAdd(b2, Vector256.LoadUnsafe(ref vv, (nuint)i), c2 * gi * gi);
                mi.StoreUnsafe(ref mm, (nuint)i);
                vi.StoreUnsafe(ref vv, (nuint)i);
                var denom = Vector256.FusedMultiplyAdd(Vector256.Sqrt(vi), r, e);
                Vector256.FusedMultiplyAdd(s, mi / denom, th).StoreUnsafe(ref t, (nuint)i);
            }
        }

        // The tail is updated once, in scalar code with the same fused operations, so the result of
        // an element never depends on whether it fell in a vector or in the tail.
        for (; i < n; i++)
        {
            float th = Unsafe.Add(ref t, i);
            float gi = MathF.FusedMultiplyAdd(weightDecay, th, Unsafe.Add(ref g, i));
            float mi = MathF.FusedMultiplyAdd(beta1, Unsafe.Add(ref mm, i), (1f - beta1) * gi);
            float vi = MathF.FusedMultiplyAdd(beta2, Unsafe.Add(ref vv, i), (1f - beta2) * gi * gi);
            Unsafe.Add(ref mm, i) = mi;
            Unsafe.Add(ref vv, i) = vi;
            float denom = MathF.FusedMultiplyAdd(MathF.Sqrt(vi), invRootC2, eps);
            Unsafe.Add(ref t, i) = MathF.FusedMultiplyAdd(-stepSize, mi / denom, th);
        }
    }
}
