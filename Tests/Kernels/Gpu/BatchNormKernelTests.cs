using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// GPU batch normalisation against the CPU <see cref="BatchNorm"/> kernel: training (with and without running
/// statistics) within float rounding of the sums, evaluation bit for bit, the fused addend and ReLU, the backward
/// pass with and without dx, and launches that repeat to the bit.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class BatchNormKernelTests(string accelerator)
{
    // Odd channel counts, one value per plane, planes longer than a group, one image, a channel of two values.
    private static readonly (int N, int C, int Hw)[] Shapes = [(3, 5, 7), (2, 3, 1), (37, 3, 1), (1, 4, 33), (5, 3, 17), (2, 2, 300), (2, 1, 1)];

    private static IEnumerable<TestCaseData> ShapeCases() => Shapes.Select(s => new TestCaseData(s.N, s.C, s.Hw));

    private GpuKernels K => TestAccelerators.Get(accelerator);

    private sealed record Data(float[] X, float[] Gamma, float[] Beta, float[] RunningMean, float[] RunningVar, float[] Dy, float[] Addend);

    // Channels get different offsets and spreads, so statistics mixed up between channels show.
    private static Data Draw(Random rng, int n, int c, int hw)
    {
        var x = new float[n * c * hw];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            x[i] = (float)((((rng.NextDouble() * 2) - 1) * (1 + (0.5 * ch))) + (0.75 * ch) - 1);
        }

        float[] Uniform(int length, double lo, double hi) => Enumerable.Range(0, length).Select(_ => (float)(lo + (rng.NextDouble() * (hi - lo)))).ToArray();
        return new Data(x, Uniform(c, 0.5, 1.5), Uniform(c, -1, 1), Uniform(c, -0.5, 0.5), Uniform(c, 0.5, 2), Uniform(x.Length, -1, 1), Uniform(x.Length, -1, 1));
    }

    private static void AssertClose(float[] actual, float[] expected, double atol, double rtol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= atol + (rtol * Math.Abs(expected[i]))))
            {
                Assert.Fail($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R}");
            }
        }
    }

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    // ILGPU allocates no empty buffers: a null array gives an empty view of a one-element buffer.
    private MemoryBuffer1D<float, Stride1D.Dense> Upload(float[]? data) => K.Accelerator.Allocate1D(data is { Length: > 0 } ? data : [float.NaN]);

    private static ArrayView<float> ViewOf(MemoryBuffer1D<float, Stride1D.Dense> buffer, float[]? data) => buffer.View.SubView(0, data?.Length ?? 0);

    private sealed record Forward(float[] Y, float[] Mean, float[] InvStd, float[]? RunningMean, float[]? RunningVar);

    private Forward GpuForward(Data d, int n, int c, int hw, bool training, bool running, bool addend, bool relu)
    {
        float[]? rm = running ? (float[])d.RunningMean.Clone() : null, rv = running ? (float[])d.RunningVar.Clone() : null;
        float[]? add = addend ? d.Addend : null;
        using var bx = Upload(d.X);
        using var bg = Upload(d.Gamma);
        using var bb = Upload(d.Beta);
        using var brm = Upload(rm);
        using var brv = Upload(rv);
        using var ba = Upload(add);
        using var by = Upload(Enumerable.Repeat(float.NaN, d.X.Length).ToArray());
        using var bm = Upload(Enumerable.Repeat(float.NaN, c).ToArray());
        using var bs = Upload(Enumerable.Repeat(float.NaN, c).ToArray());
        K.BatchNorm2d(ViewOf(bx, d.X), ViewOf(bg, d.Gamma), ViewOf(bb, d.Beta), ViewOf(brm, rm), ViewOf(brv, rv), n, c, hw, training, 0.1f, 1e-5f,
            ViewOf(by, d.X), ViewOf(bm, d.Gamma), ViewOf(bs, d.Gamma), ViewOf(ba, add), relu);
        return new Forward(
            by.GetAsArray1D()[..d.X.Length], bm.GetAsArray1D()[..c], bs.GetAsArray1D()[..c],
            running ? brm.GetAsArray1D()[..c] : null, running ? brv.GetAsArray1D()[..c] : null);
    }

    private static Forward CpuForward(Data d, int n, int c, int hw, bool training, bool running, bool addend, bool relu)
    {
        float[]? rm = running ? (float[])d.RunningMean.Clone() : null, rv = running ? (float[])d.RunningVar.Clone() : null;
        var y = new float[d.X.Length];
        var mean = new float[c];
        var invStd = new float[c];
        BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, rm, rv, mean, invStd, y, relu, addend ? d.Addend : default);
        return new Forward(y, mean, invStd, rm, rv);
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void Training_MatchesTheCpuKernel_WithEveryAddendAndReluCombination(int n, int c, int hw)
    {
        var rng = new Random(71 + (n * 100) + hw);
        var d = Draw(rng, n, c, hw);
        foreach (var (running, addend, relu) in new[] { (true, false, false), (false, false, false), (true, true, false), (true, false, true), (false, true, true) })
        {
            string what = $"running {running}, addend {addend}, relu {relu}";
            var got = GpuForward(d, n, c, hw, training: true, running, addend, relu);
            var expected = CpuForward(d, n, c, hw, training: true, running, addend, relu);
            AssertClose(got.Mean, expected.Mean, 1e-6, 1e-5, $"mean, {what}");
            AssertClose(got.InvStd, expected.InvStd, 1e-6, 1e-5, $"invStd, {what}");
            AssertClose(got.Y, expected.Y, 1e-5, 1e-4, $"y, {what}");
            if (running)
            {
                AssertClose(got.RunningMean!, expected.RunningMean!, 1e-6, 1e-5, $"running mean, {what}");
                AssertClose(got.RunningVar!, expected.RunningVar!, 1e-6, 1e-5, $"running variance, {what}");
            }

            if (relu)
            {
                Assert.That(got.Y, Is.All.GreaterThanOrEqualTo(0f), what);
            }
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void Evaluation_MatchesTheCpuKernel_BitForBit_AndLeavesTheRunningStatistics(int n, int c, int hw)
    {
        var rng = new Random(72 + (n * 100) + hw);
        var d = Draw(rng, n, c, hw);
        foreach (var (addend, relu) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            string what = $"addend {addend}, relu {relu}";
            var got = GpuForward(d, n, c, hw, training: false, running: true, addend, relu);
            var expected = CpuForward(d, n, c, hw, training: false, running: true, addend, relu);
            Assert.That(Bits(got.Mean), Is.EqualTo(Bits(expected.Mean)), $"mean, {what}");
            Assert.That(Bits(got.InvStd), Is.EqualTo(Bits(expected.InvStd)), $"invStd, {what}");
            Assert.That(Bits(got.Y), Is.EqualTo(Bits(expected.Y)), $"y, {what}");
            Assert.That(got.RunningMean, Is.EqualTo(d.RunningMean), what);
            Assert.That(got.RunningVar, Is.EqualTo(d.RunningVar), what);
        }
    }

    private sealed record Backward(float[]? Dx, float[] DGamma, float[] DBeta);

    private Backward GpuBackward(Data d, float[] mean, float[] invStd, int n, int c, int hw, bool training, bool relu, bool withDx)
    {
        using var bx = Upload(d.X);
        using var bdy = Upload(d.Dy);
        using var bg = Upload(d.Gamma);
        using var bb = Upload(d.Beta);
        using var bm = Upload(mean);
        using var bs = Upload(invStd);
        using var bdx = Upload(Enumerable.Repeat(float.NaN, d.X.Length).ToArray());
        using var bdg = Upload(Enumerable.Repeat(float.NaN, c).ToArray());
        using var bdb = Upload(Enumerable.Repeat(float.NaN, c).ToArray());
        K.BatchNorm2dBackward(ViewOf(bx, d.X), ViewOf(bdy, d.Dy), ViewOf(bg, d.Gamma), ViewOf(bb, d.Beta), ViewOf(bm, mean), ViewOf(bs, invStd), n, c, hw, training, relu,
            withDx ? ViewOf(bdx, d.X) : ViewOf(bdx, null), ViewOf(bdg, d.Gamma), ViewOf(bdb, d.Gamma));
        float[] dx = bdx.GetAsArray1D()[..d.X.Length];
        if (!withDx)
        {
            Assert.That(dx, Is.All.NaN, "dx skipped is left alone");
        }

        return new Backward(withDx ? dx : null, bdg.GetAsArray1D()[..c], bdb.GetAsArray1D()[..c]);
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void Backward_MatchesTheCpuKernel_InTrainingAndEvaluation_WithAndWithoutRelu(int n, int c, int hw)
    {
        var rng = new Random(73 + (n * 100) + hw);
        var d = Draw(rng, n, c, hw);
        foreach (bool training in new[] { true, false })
        {
            // The statistics the forward pass would have saved, taken from the CPU kernel so both sides mask alike.
            var forward = CpuForward(d, n, c, hw, training, running: true, addend: false, relu: false);
            foreach (var (relu, withDx) in new[] { (false, true), (true, true), (false, false), (true, false) })
            {
                string what = $"training {training}, relu {relu}, dx {withDx}";
                var got = GpuBackward(d, forward.Mean, forward.InvStd, n, c, hw, training, relu, withDx);
                var dx = withDx ? new float[d.X.Length] : null;
                var dGamma = new float[c];
                var dBeta = new float[c];
                BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, forward.Mean, forward.InvStd, training, dx, dGamma, dBeta, d.Beta, relu);
                AssertClose(got.DBeta, dBeta, 1e-5, 1e-5, $"dβ, {what}");
                AssertClose(got.DGamma, dGamma, 1e-5, 1e-5, $"dγ, {what}");
                if (withDx)
                {
                    AssertClose(got.Dx!, dx!, 1e-5, 1e-4, $"dx, {what}");
                    if (!training)
                    {
                        Assert.That(Bits(got.Dx!), Is.EqualTo(Bits(dx!)), $"dx in evaluation is one product, bit for bit; {what}");
                    }
                }
            }
        }
    }

    [Test]
    public void TrainingForwardAndBackward_RepeatToTheBit()
    {
        var rng = new Random(74);
        const int N = 6, C = 3, Hw = 97;
        var d = Draw(rng, N, C, Hw);
        var first = GpuForward(d, N, C, Hw, training: true, running: true, addend: true, relu: true);
        var second = GpuForward(d, N, C, Hw, training: true, running: true, addend: true, relu: true);
        Assert.That(Bits(second.Mean), Is.EqualTo(Bits(first.Mean)));
        Assert.That(Bits(second.InvStd), Is.EqualTo(Bits(first.InvStd)));
        Assert.That(Bits(second.Y), Is.EqualTo(Bits(first.Y)));
        Assert.That(Bits(second.RunningVar!), Is.EqualTo(Bits(first.RunningVar!)));
        var b1 = GpuBackward(d, first.Mean, first.InvStd, N, C, Hw, training: true, relu: true, withDx: true);
        var b2 = GpuBackward(d, first.Mean, first.InvStd, N, C, Hw, training: true, relu: true, withDx: true);
        Assert.That(Bits(b2.DGamma), Is.EqualTo(Bits(b1.DGamma)));
        Assert.That(Bits(b2.DBeta), Is.EqualTo(Bits(b1.DBeta)));
        Assert.That(Bits(b2.Dx!), Is.EqualTo(Bits(b1.Dx!)));
    }

    [Test]
    public void Errors_NameTheValues()
    {
        using var buffer = K.Accelerator.Allocate1D<float>(64);
        ArrayView<float> V(int length) => buffer.View.SubView(0, length);
        var none = V(0);

        // Evaluation without running statistics, and running statistics given by half.
        var ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(12), V(3), V(3), none, none, 2, 3, 2, false, 0.1f, 1e-5f, V(12), V(3), V(3), none, false));
        Assert.That(ex!.Message, Does.Contain("required in evaluation"));
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(12), V(3), V(3), V(3), none, 2, 3, 2, true, 0.1f, 1e-5f, V(12), V(3), V(3), none, false));
        Assert.That(ex!.Message, Does.Contain("running mean has 3 and running variance 0"));

        // One value per channel cannot be normalised by batch statistics.
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(3), V(3), V(3), none, none, 1, 3, 1, true, 0.1f, 1e-5f, V(3), V(3), V(3), none, false));
        Assert.That(ex!.Message, Does.Contain("n = 1, hw = 1"));

        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(11), V(3), V(3), none, none, 2, 3, 2, true, 0.1f, 1e-5f, V(12), V(3), V(3), none, false));
        Assert.That(ex!.Message, Does.Contain("[2, 3, 2] needs x of 12 elements, got 11"));
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(12), V(2), V(3), none, none, 2, 3, 2, true, 0.1f, 1e-5f, V(12), V(3), V(3), none, false));
        Assert.That(ex!.Message, Does.Contain("weight has 2 elements"));
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2d(V(12), V(3), V(3), none, none, 2, 3, 2, true, 0.1f, 1e-5f, V(12), V(3), V(3), V(5), false));
        Assert.That(ex!.Message, Does.Contain("addend has 5 elements, expected 12"));
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2dBackward(V(12), V(12), V(3), none, V(3), V(3), 2, 3, 2, true, true, none, V(3), V(3)));
        Assert.That(ex!.Message, Does.Contain("bias has 0 elements"));
        ex = Assert.Throws<ArgumentException>(() => K.BatchNorm2dBackward(V(12), V(12), V(3), V(3), V(3), V(3), 2, 3, 2, true, false, V(10), V(3), V(3)));
        Assert.That(ex!.Message, Does.Contain("dx has 10 elements"));
    }

    [Test]
    public void EmptyBatch_InEvaluation_StillSavesTheStatistics()
    {
        using var stats = K.Accelerator.Allocate1D(new[] { 0.5f, -1f, 4f, 0.25f });
        using var saved = K.Accelerator.Allocate1D<float>(4);
        using var buffer = K.Accelerator.Allocate1D<float>(1);
        var none = buffer.View.SubView(0, 0);
        K.BatchNorm2d(none, stats.View.SubView(0, 2), stats.View.SubView(0, 2), stats.View.SubView(0, 2), stats.View.SubView(2, 2), 0, 2, 5, false, 0.1f, 1e-5f,
            none, saved.View.SubView(0, 2), saved.View.SubView(2, 2), none, false);
        float[] got = saved.GetAsArray1D();
        Assert.That(got[..2], Is.EqualTo(new[] { 0.5f, -1f }));
        Assert.That(got[2], Is.EqualTo((float)(1 / Math.Sqrt(4 + (double)1e-5f))));
        Assert.That(got[3], Is.EqualTo((float)(1 / Math.Sqrt(0.25 + (double)1e-5f))));
    }
}
