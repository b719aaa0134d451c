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
        var k = new Constants(beta1, beta2, eps, weightDecay, stepSize, invRootC2);
        int i = Vector512.IsHardwareAccelerated ? Vectors<Vector512<float>, V512>(ref t, ref g, ref mm, ref vv, n, k)
            : Vector256.IsHardwareAccelerated ? Vectors<Vector256<float>, V256>(ref t, ref g, ref mm, ref vv, n, k)
            : Vector128.IsHardwareAccelerated ? Vectors<Vector128<float>, V128>(ref t, ref g, ref mm, ref vv, n, k)
            : 0;

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

    private readonly record struct Constants(float Beta1, float Beta2, float Eps, float WeightDecay, float StepSize, float InvRootC2);

    // The whole vectors of one update at one width; returns where the scalar tail starts. One loop serves every
    // width: the JIT specialises it per vector struct, and each width performs the same fused operations per
    // element as the tail, so an element's result never depends on the width or on where it fell.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Vectors<TV, TOps>(ref float t, ref float g, ref float mm, ref float vv, int n, Constants k)
        where TV : struct
        where TOps : struct, IAdamVector<TV>
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

    /// <summary>The vector operations the update needs, at one width.</summary>
    private interface IAdamVector<TV>
    {
        static abstract int Count { get; }

        static abstract TV Create(float value);

        static abstract TV Load(ref float source, int index);

        static abstract void Store(TV value, ref float destination, int index);

        static abstract TV Fma(TV a, TV b, TV c);

        static abstract TV Mul(TV a, TV b);

        static abstract TV Div(TV a, TV b);

        static abstract TV Sqrt(TV a);
    }

    private readonly struct V512 : IAdamVector<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;

        public static Vector512<float> Create(float value) => Vector512.Create(value);

        public static Vector512<float> Load(ref float source, int index) => Vector512.LoadUnsafe(ref source, (nuint)index);

        public static void Store(Vector512<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

        public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;

        public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;

        public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
    }

    private readonly struct V256 : IAdamVector<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;

        public static Vector256<float> Create(float value) => Vector256.Create(value);

        public static Vector256<float> Load(ref float source, int index) => Vector256.LoadUnsafe(ref source, (nuint)index);

        public static void Store(Vector256<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

        public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

        public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

        public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
    }

    private readonly struct V128 : IAdamVector<Vector128<float>>
    {
        public static int Count => Vector128<float>.Count;

        public static Vector128<float> Create(float value) => Vector128.Create(value);

        public static Vector128<float> Load(ref float source, int index) => Vector128.LoadUnsafe(ref source, (nuint)index);

        public static void Store(Vector128<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

        public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);

        public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;

        public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;

        public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);
    }
}
