using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerAdamArgs>? _layerAdam;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerSgdArgs>? _layerSgd;

    /// <summary>
    /// One Adam update, element by element, with the fused operations of the CPU kernel (<c>AdamKernel.Step</c>):
    /// g = fma(λ, θ, grad); m ← fma(β₁, m, (1−β₁)·g); v ← fma(β₂, v, (1−β₂)·g·g);
    /// θ ← fma(−stepSize, m / fma(√v, invRootC2, ε), θ). θ, m and v are updated in place; grad is only read.
    /// </summary>
    /// <param name="theta">Parameters θ.</param>
    /// <param name="grad">Gradient, as long as θ.</param>
    /// <param name="m">First moment, as long as θ.</param>
    /// <param name="v">Second moment, as long as θ.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="eps">ε, added to the bias-corrected √v.</param>
    /// <param name="weightDecay">L2 weight decay λ, folded into the gradient.</param>
    /// <param name="stepSize">lr/(1−β₁ᵗ).</param>
    /// <param name="invRootC2">1/√(1−β₂ᵗ).</param>
    /// <exception cref="ArgumentException">The views differ in length.</exception>
    public void AdamStep(ArrayView<float> theta, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v,
        float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        long n = theta.Length;
        if (grad.Length != n || m.Length != n || v.Length != n)
        {
            throw new ArgumentException($"gpu adam: θ has {n} elements but g {grad.Length}, m {m.Length}, v {v.Length}");
        }

        LayerCheckIndexable("gpu adam", n);
        if (n == 0)
        {
            return;
        }

        var k = new LayerAdamArgs(beta1, 1f - beta1, beta2, 1f - beta2, eps, weightDecay, -stepSize, invRootC2);
        Cached(ref _layerAdam, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerAdamArgs>(LayerAdamKernel))(
            (int)n, theta, grad, m, v, k);
    }

    /// <summary>
    /// One SGD update as <c>Engine.Optim.Sgd</c> makes it: g = grad (+ λ·θ when λ ≠ 0); with momentum (a non-empty
    /// <paramref name="velocity"/>) v ← g on the first step, μ·v + g after, and the step direction is g + μ·v (Nesterov)
    /// or v; θ ← θ − lr·direction. Each multiply-add is rounded twice, as TensorPrimitives.MultiplyAdd rounds it;
    /// <paramref name="grad"/> is left unchanged.
    /// </summary>
    /// <param name="theta">Parameters θ, updated in place.</param>
    /// <param name="grad">Gradient, as long as θ.</param>
    /// <param name="velocity">Momentum buffer, as long as θ, or empty for plain SGD.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="momentum">μ.</param>
    /// <param name="nesterov">Whether the step follows g + μ·v rather than v.</param>
    /// <param name="weightDecay">L2 weight decay λ.</param>
    /// <param name="firstStep">Whether the velocity is still unset (it is then written with g, whatever it held).</param>
    /// <exception cref="ArgumentException">The views differ in length.</exception>
    public void SgdStep(ArrayView<float> theta, ArrayView<float> grad, ArrayView<float> velocity, float learningRate,
        float momentum, bool nesterov, float weightDecay, bool firstStep)
    {
        long n = theta.Length;
        if (grad.Length != n || (velocity.Length != 0 && velocity.Length != n))
        {
            throw new ArgumentException($"gpu sgd: θ has {n} elements but g {grad.Length} and velocity {velocity.Length} (0 or {n})");
        }

        LayerCheckIndexable("gpu sgd", n);
        if (n == 0)
        {
            return;
        }

        bool hasMomentum = velocity.Length != 0;
        var k = new LayerSgdArgs(-learningRate, momentum, weightDecay, weightDecay != 0f ? 1 : 0, hasMomentum ? 1 : 0, nesterov ? 1 : 0, firstStep ? 1 : 0);

        // Without momentum the kernel never touches the velocity; θ stands in for the empty view.
        Cached(ref _layerSgd, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerSgdArgs>(LayerSgdKernel))(
            (int)n, theta, grad, hasMomentum ? velocity : theta, k);
    }

    private static void LayerCheckIndexable(string op, long n)
    {
        if (n > int.MaxValue)
        {
            throw new ArgumentException($"{op}: {n} elements are more than one launch indexes ({int.MaxValue})");
        }
    }

    /// <summary>Adam's constants; (1 − β) is computed once on the host, as the CPU kernel does.</summary>
    internal readonly struct LayerAdamArgs(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps, float weightDecay, float minusStepSize, float invRootC2)
    {
        public readonly float Beta1 = beta1;
        public readonly float OneMinusBeta1 = oneMinusBeta1;
        public readonly float Beta2 = beta2;
        public readonly float OneMinusBeta2 = oneMinusBeta2;
        public readonly float Eps = eps;
        public readonly float WeightDecay = weightDecay;
        public readonly float MinusStepSize = minusStepSize;
        public readonly float InvRootC2 = invRootC2;
    }

    /// <summary>SGD's constants; the flags are ints (0 or 1) so the struct stays plain data on every backend.</summary>
    internal readonly struct LayerSgdArgs(float minusLearningRate, float momentum, float weightDecay, int decay, int hasMomentum, int nesterov, int firstStep)
    {
        public readonly float MinusLearningRate = minusLearningRate;
        public readonly float Momentum = momentum;
        public readonly float WeightDecay = weightDecay;
        public readonly int Decay = decay;
        public readonly int HasMomentum = hasMomentum;
        public readonly int Nesterov = nesterov;
        public readonly int FirstStep = firstStep;
    }

    [GpuKernel]
    internal static void LayerAdamKernel(Index1D i, ArrayView<float> theta, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v, LayerAdamArgs k)
    {
        float th = theta[i];
        float g = LayerFma(k.WeightDecay, th, grad[i]);
        float mi = LayerFma(k.Beta1, m[i], LayerMul(k.OneMinusBeta1, g));
        float vi = LayerFma(k.Beta2, v[i], LayerMul(LayerMul(k.OneMinusBeta2, g), g));
        m[i] = mi;
        v[i] = vi;
        float denom = LayerFma(MathF.Sqrt(vi), k.InvRootC2, k.Eps);
        theta[i] = LayerFma(k.MinusStepSize, mi / denom, th);
    }

    // TensorPrimitives.MultiplyAdd, which Sgd uses, rounds the product and the sum separately: so does every step here.
    [GpuKernel]
    internal static void LayerSgdKernel(Index1D i, ArrayView<float> theta, ArrayView<float> grad, ArrayView<float> velocity, LayerSgdArgs k)
    {
        float th = theta[i];
        float g = grad[i];
        if (k.Decay != 0)
        {
            g = LayerAdd(LayerMul(th, k.WeightDecay), g);
        }

        if (k.HasMomentum != 0)
        {
            float vi = k.FirstStep != 0 ? g : LayerAdd(LayerMul(velocity[i], k.Momentum), g);
            velocity[i] = vi;
            g = k.Nesterov != 0 ? LayerAdd(LayerMul(vi, k.Momentum), g) : vi;
        }

        theta[i] = LayerAdd(LayerMul(g, k.MinusLearningRate), th);
    }

    // Exact IEEE operations on every backend. ILGPU has no fused multiply-add of its own and emits PTX mul and add
    // without a rounding mode, which the CUDA compiler may contract into one fused operation: inline PTX with .rn
    // pins each rounding, so CUDA gives the CPU's bits. Other accelerators take the plain branch, which .NET never
    // fuses. The PTX backend compiles that branch too (it is dead there), so it must be plain IL: MathF's fused
    // multiply-add, a runtime intrinsic, would become a call to an undefined external function.
    private static float LayerFma(float a, float b, float c)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float result, a, b, c);
            return result;
        }

        return LayerSoftFma(a, b, c);
    }

    private static float LayerMul(float a, float b)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("mul.rn.f32 %0, %1, %2;", out float result, a, b);
            return result;
        }

        return a * b;
    }

    private static float LayerAdd(float a, float b)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("add.rn.f32 %0, %1, %2;", out float result, a, b);
            return result;
        }

        return a + b;
    }

    /// <summary>
    /// fma(a, b, c) rounded once to float, from double arithmetic alone: a·b is exact in double, so a·b + c is off
    /// only by the rounding of the double sum s, and that matters only when s lands exactly on a tie between two
    /// floats; then the sum's rounding error (TwoSum, exact) says which side the true value lies on.
    /// </summary>
    internal static float LayerSoftFma(float a, float b, float c)
    {
        double p = (double)a * b;
        double s = p + c;
        float f = (float)s;
        if (!double.IsFinite(s) || float.IsInfinity(f) || (double)f == s)
        {
            return f;
        }

        // The float on the other side of s, and whether s is their midpoint (both differences are exact).
        float g = LayerNextFloat(f, (double)f < s);
        if ((double)g - s != s - (double)f)
        {
            return f;
        }

        double bv = s - p;
        double error = (p - (s - bv)) + (c - bv);
        return error == 0 ? f : (error > 0) == (g > f) ? g : f;
    }

    // The neighbour of a finite float towards +∞ (up) or −∞.
    private static float LayerNextFloat(float f, bool up)
    {
        if (f == 0f)
        {
            return up ? float.Epsilon : -float.Epsilon;
        }

        uint bits = Interop.FloatAsInt(f);
        return Interop.IntAsFloat(up == (f > 0f) ? bits + 1 : bits - 1);
    }
}
