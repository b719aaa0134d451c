using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class AdamKernelTests
{
    // The update written out one element at a time, with the same fused operations as the kernel.
    private static void Reference(float[] theta, float[] grad, float[] m, float[] v, float b1, float b2, float eps, float wd, float step, float invRootC2)
    {
        for (int i = 0; i < theta.Length; i++)
        {
            float g = MathF.FusedMultiplyAdd(wd, theta[i], grad[i]);
            m[i] = MathF.FusedMultiplyAdd(b1, m[i], (1f - b1) * g);
            v[i] = MathF.FusedMultiplyAdd(b2, v[i], (1f - b2) * g * g);
            theta[i] = MathF.FusedMultiplyAdd(-step, m[i] / MathF.FusedMultiplyAdd(MathF.Sqrt(v[i]), invRootC2, eps), theta[i]);
        }
    }

    private static float[] RandomArray(System.Random rng, int n, float scale, bool positive = false) =>
        Enumerable.Range(0, n).Select(_ => (float)((positive ? rng.NextDouble() : (rng.NextDouble() * 2) - 1) * scale)).ToArray();

    [Test]
    public void EveryLength_0To256_AndTheParallelPath_MatchTheScalarReferenceBitForBit()
    {
        var rng = new System.Random(12);
        foreach (int n in Enumerable.Range(0, 257).Append(AdamKernel.ParallelThreshold + 37).Append(266_610))
        {
            float[] theta = RandomArray(rng, n, 1f), grad = RandomArray(rng, n, 0.1f), m = RandomArray(rng, n, 0.01f), v = RandomArray(rng, n, 1e-3f, positive: true);
            float[] t2 = (float[])theta.Clone(), m2 = (float[])m.Clone(), v2 = (float[])v.Clone();
            AdamKernel.Step(theta, grad, m, v, 0.9f, 0.999f, 1e-8f, 1e-4f, 1.2e-3f / 0.271f, 1f / MathF.Sqrt(0.003f));
            Reference(t2, grad, m2, v2, 0.9f, 0.999f, 1e-8f, 1e-4f, 1.2e-3f / 0.271f, 1f / MathF.Sqrt(0.003f));
            Assert.That(theta, Is.EqualTo(t2), $"θ, n = {n}");
            Assert.That(m, Is.EqualTo(m2), $"m, n = {n}");
            Assert.That(v, Is.EqualTo(v2), $"v, n = {n}");
        }
    }

    [Test]
    public void MismatchedLengths_AreRejectedNamingThem()
    {
        var ex = Assert.Throws<ArgumentException>(() => AdamKernel.Step(new float[5], new float[4], new float[5], new float[5], 0.9f, 0.999f, 1e-8f, 0f, 1f, 1f));
        Assert.That(ex!.Message, Does.Contain("5").And.Contain("g 4"));
    }
}
