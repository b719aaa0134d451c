using System.Numerics.Tensors;
using ILGPU.Runtime;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The GPU optimizer steps against scalar references with the CPU's roundings: Adam's fused multiply-adds as
/// <c>AdamKernel</c> performs them, SGD's separately rounded multiply-adds as <c>Sgd</c> performs them through
/// TensorPrimitives. Bits must match on the CPU accelerator; a CUDA device may differ by one unit in the last place.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class OptimKernelTests(string accelerator)
{
    private GpuKernels K => TestAccelerators.Get(accelerator);

    private int AllowedUlps => accelerator.StartsWith("cuda", StringComparison.Ordinal) ? 1 : 0;

    private static float[] RandomArray(Random rng, int n, float scale, bool positive = false) =>
        Enumerable.Range(0, n).Select(_ => (float)((positive ? rng.NextDouble() : (rng.NextDouble() * 2) - 1) * scale)).ToArray();

    private void AssertUlps(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            long ulps = Math.Abs((long)BitConverter.SingleToInt32Bits(actual[i]) - BitConverter.SingleToInt32Bits(expected[i]));
            if (ulps > AllowedUlps)
            {
                Assert.Fail($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R} ({ulps} ulps apart, {AllowedUlps} allowed)");
            }
        }
    }

    // Tests/Kernels/AdamKernelTests' reference: the update one element at a time, with the CPU kernel's fused operations.
    private static void AdamReference(float[] theta, float[] grad, float[] m, float[] v, float b1, float b2, float eps, float wd, float step, float invRootC2)
    {
        for (int i = 0; i < theta.Length; i++)
        {
            float g = MathF.FusedMultiplyAdd(wd, theta[i], grad[i]);
            m[i] = MathF.FusedMultiplyAdd(b1, m[i], (1f - b1) * g);
            v[i] = MathF.FusedMultiplyAdd(b2, v[i], (1f - b2) * g * g);
            theta[i] = MathF.FusedMultiplyAdd(-step, m[i] / MathF.FusedMultiplyAdd(MathF.Sqrt(v[i]), invRootC2, eps), theta[i]);
        }
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1000)]
    [TestCase(4099)]
    public void AdamStep_ThreeSteps_MatchTheFusedScalarReference(int n)
    {
        var rng = new Random(41 + n);
        float[] theta = RandomArray(rng, n, 1f), m = RandomArray(rng, n, 0.01f), v = RandomArray(rng, n, 1e-3f, positive: true);
        float[] t2 = (float[])theta.Clone(), m2 = (float[])m.Clone(), v2 = (float[])v.Clone();

        // ILGPU allocates no empty buffers: n = 0 runs on empty views of one-element buffers.
        using var bt = K.Accelerator.Allocate1D(theta.Append(0f).ToArray());
        using var bm = K.Accelerator.Allocate1D(m.Append(0f).ToArray());
        using var bv = K.Accelerator.Allocate1D(v.Append(0f).ToArray());
        using var bg = K.Accelerator.Allocate1D<float>(n + 1);
        for (int step = 1; step <= 3; step++)
        {
            float[] grad = RandomArray(rng, n, 0.1f);
            bg.CopyFromCPU(grad.Append(0f).ToArray());
            float stepSize = 1.2e-3f / (1 - MathF.Pow(0.9f, step)), invRootC2 = 1f / MathF.Sqrt(1 - MathF.Pow(0.999f, step));
            float wd = step == 2 ? 0f : 1e-4f;
            K.AdamStep(bt.View.SubView(0, n), bg.View.SubView(0, n), bm.View.SubView(0, n), bv.View.SubView(0, n), 0.9f, 0.999f, 1e-8f, wd, stepSize, invRootC2);
            AdamReference(t2, grad, m2, v2, 0.9f, 0.999f, 1e-8f, wd, stepSize, invRootC2);
            Assert.That(bg.GetAsArray1D()[..n], Is.EqualTo(grad), "the gradient is only read");
        }

        AssertUlps(bt.GetAsArray1D()[..n], t2, "θ");
        AssertUlps(bm.GetAsArray1D()[..n], m2, "m");
        AssertUlps(bv.GetAsArray1D()[..n], v2, "v");
    }

    // The fused multiply-add that accelerators other than CUDA run (the CPU accelerator among them) is built from
    // double arithmetic; it must round exactly as MathF.FusedMultiplyAdd, including the double-rounding traps.
    [Test]
    public void SoftFma_RoundsAsTheHardwareFusedMultiplyAdd()
    {
        static void Check(float a, float b, float c)
        {
            float got = GpuKernels.LayerSoftFma(a, b, c), expected = MathF.FusedMultiplyAdd(a, b, c);
            if (BitConverter.SingleToInt32Bits(got) != BitConverter.SingleToInt32Bits(expected) && !(float.IsNaN(got) && float.IsNaN(expected)))
            {
                Assert.Fail($"fma({a:R}, {b:R}, {c:R}) = {got:R}, expected {expected:R}");
            }
        }

        // a·b = 2⁻²⁴ + 2⁻⁶⁰, so a·b + 1 rounds in double to the tie 1 + 2⁻²⁴ that float rounding then breaks the
        // wrong way: (float)(a·b + c) in double gives 1, the fused result is 1 + 2⁻²³. Every sign and scale of it.
        float a0 = MathF.ScaleB(1 + MathF.ScaleB(1, -12), -24), b0 = 1 - MathF.ScaleB(1, -12) + MathF.ScaleB(1, -24);
        Assert.That((float)(((double)a0 * b0) + 1), Is.Not.EqualTo(MathF.FusedMultiplyAdd(a0, b0, 1f)), "the trap is real");
        foreach (int scale in new[] { -100, -20, 0, 7, 60 })
        {
            foreach (float sign in new[] { 1f, -1f })
            {
                float a = sign * MathF.ScaleB(a0, scale), c = sign * MathF.ScaleB(1f, scale);
                Check(a, b0, c);
                Check(a, -b0, c);
                Check(-a, b0, c);
                Check(a, b0 * (1 + MathF.ScaleB(1, -23)), c);
            }
        }

        float[] specials = [0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 3e-39f, 1.5f];
        foreach (float a in specials)
        {
            foreach (float b in specials)
            {
                foreach (float c in specials)
                {
                    Check(a, b, c);
                }
            }
        }

        var rng = new Random(45);
        for (int i = 0; i < 300_000; i++)
        {
            float a = (float)(((rng.NextDouble() * 2) - 1) * Math.Pow(2, rng.Next(-140, 120)));
            float b = (float)(((rng.NextDouble() * 2) - 1) * Math.Pow(2, rng.Next(-140, 120)));

            // A c near −a·b cancels most of the product; a random one tests the rest.
            float c = rng.Next(2) == 0 ? -(float)((double)a * b * (1 + (rng.Next(-4, 5) * 1e-7))) : (float)(((rng.NextDouble() * 2) - 1) * Math.Pow(2, rng.Next(-149, 127)));
            Check(a, b, c);
        }
    }

    [Test]
    public void AdamStep_MismatchedLengths_AreRejectedNamingThem()
    {
        using var a = K.Accelerator.Allocate1D<float>(5);
        var ex = Assert.Throws<ArgumentException>(() => K.AdamStep(a.View, a.View.SubView(0, 4), a.View, a.View, 0.9f, 0.999f, 1e-8f, 0f, 1f, 1f));
        Assert.That(ex!.Message, Does.Contain("5").And.Contain("g 4"));
    }

    // Engine/Optim/Sgd.Step for one parameter, with the same TensorPrimitives calls; velocity null until the first step.
    private static void SgdReference(float[] theta, float[] grad, ref float[]? velocity, float lr, float momentum, bool nesterov, float wd)
    {
        float[] g = (float[])grad.Clone();
        if (wd != 0f)
        {
            TensorPrimitives.MultiplyAdd(theta, wd, g, g);
        }

        if (momentum != 0f)
        {
            if (velocity is null)
            {
                velocity = (float[])g.Clone();
            }
            else
            {
                TensorPrimitives.MultiplyAdd(velocity, momentum, g, velocity);
            }

            if (nesterov)
            {
                TensorPrimitives.MultiplyAdd(velocity, momentum, g, g);
            }
            else
            {
                g = velocity;
            }
        }

        TensorPrimitives.MultiplyAdd(g, -lr, theta, theta);
    }

    [TestCase(0f, false, 0f, TestName = "Sgd_Plain")]
    [TestCase(0f, false, 5e-4f, TestName = "Sgd_WeightDecay")]
    [TestCase(0.9f, false, 0f, TestName = "Sgd_Momentum")]
    [TestCase(0.9f, false, 5e-4f, TestName = "Sgd_MomentumAndWeightDecay")]
    [TestCase(0.9f, true, 0f, TestName = "Sgd_Nesterov")]
    [TestCase(0.8f, true, 1e-3f, TestName = "Sgd_NesterovAndWeightDecay")]
    public void SgdStep_ThreeSteps_MatchTheOptimizersArithmetic(float momentum, bool nesterov, float wd)
    {
        foreach (int n in new[] { 1, 13, 3001 })
        {
            var rng = new Random(51 + n);
            float[] theta = RandomArray(rng, n, 1f);
            float[] expected = (float[])theta.Clone();
            float[]? velocity = null;
            using var bt = K.Accelerator.Allocate1D(theta);
            using var bg = K.Accelerator.Allocate1D<float>(n);

            // The velocity buffer starts as garbage: the first step must overwrite it.
            using var bv = K.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, n).ToArray());
            var velocityView = momentum != 0f ? bv.View.SubView(0, n) : bv.View.SubView(0, 0);
            for (int step = 0; step < 3; step++)
            {
                float[] grad = RandomArray(rng, n, 0.5f);
                bg.CopyFromCPU(grad);
                K.SgdStep(bt.View, bg.View, velocityView, 0.05f, momentum, nesterov, wd, firstStep: step == 0);
                SgdReference(expected, grad, ref velocity, 0.05f, momentum, nesterov, wd);
                Assert.That(bg.GetAsArray1D(), Is.EqualTo(grad), "the gradient is left unchanged");
            }

            AssertUlps(bt.GetAsArray1D(), expected, $"θ, n = {n}");
            if (velocity is not null)
            {
                AssertUlps(bv.GetAsArray1D(), velocity, $"velocity, n = {n}");
            }
        }
    }

    [Test]
    public void SgdStep_EmptyAndMismatchedViews()
    {
        using var a = K.Accelerator.Allocate1D<float>(6);
        K.SgdStep(a.View.SubView(0, 0), a.View.SubView(0, 0), a.View.SubView(0, 0), 0.1f, 0.9f, false, 0f, true);
        var ex = Assert.Throws<ArgumentException>(() => K.SgdStep(a.View.SubView(0, 6), a.View.SubView(0, 6), a.View.SubView(0, 5), 0.1f, 0.9f, false, 0f, false));
        Assert.That(ex!.Message, Does.Contain("velocity 5"));
        ex = Assert.Throws<ArgumentException>(() => K.SgdStep(a.View.SubView(0, 6), a.View.SubView(0, 3), a.View.SubView(0, 0), 0.1f, 0f, false, 0f, false));
        Assert.That(ex!.Message, Does.Contain("g 3"));
    }
}
