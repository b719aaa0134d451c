using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

/// <summary>
/// The batch-normalisation kernel at every SIMD width on odd shapes against the double reference, and its
/// determinism: the parallel split over channels and planes gives the bits of one channel at a time.
/// </summary>
public class BatchNormTests
{
    private static readonly int[] Widths = [0, 16, 8, 4, 1];

    // (n, channels, hw): planes shorter than a vector, with tails, of one value, longer than a chunk, and small planes
    // whose channel spans several chunks.
    private static readonly (int N, int C, int Hw)[] Shapes =
    [
        (3, 5, 7), (2, 3, 1), (1, 4, 33), (5, 2, 17), (4, 3, 64), (3, 1, 2), (2, 2, BatchNorm.ChunkFloats + 53), (37, 2, 61),
    ];

    private sealed record Data(float[] X, float[] Gamma, float[] Beta, float[] RunningMean, float[] RunningVar, float[] Dy);

    // Channels get different offsets and spreads, so a mean or variance mixed up between channels shows.
    private static Data Draw(System.Random rng, int n, int c, int hw)
    {
        var x = new float[n * c * hw];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            x[i] = (float)((((rng.NextDouble() * 2) - 1) * (1 + (0.5 * ch))) + (0.75 * ch) - 1);
        }

        float[] Uniform(int length, double lo, double hi) => Enumerable.Range(0, length).Select(_ => (float)(lo + (rng.NextDouble() * (hi - lo)))).ToArray();
        return new Data(x, Uniform(c, 0.5, 1.5), Uniform(c, -1, 1), Uniform(c, -0.5, 0.5), Uniform(c, 0.5, 2), Uniform(x.Length, -1, 1));
    }

    private static void AtEveryWidth(Action<int> body)
    {
        try
        {
            foreach (int width in Widths)
            {
                Elementwise.ForcedWidth = width;
                body(width);
            }
        }
        finally
        {
            Elementwise.ForcedWidth = 0;
        }
    }

    private static void ExpectClose(string what, float[] actual, double[] expected, double atol, double rtol)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            double allowed = atol + (rtol * Math.Abs(expected[i]));
            Assert.That(Math.Abs(actual[i] - expected[i]), Is.LessThanOrEqualTo(allowed), $"{what}[{i}]: got {actual[i]:G9}, expected {expected[i]:G9}");
        }
    }

    [Test]
    public void Forward_EveryWidth_OddShapes_MatchesTheDoubleReference([Values] bool training)
    {
        var rng = new System.Random(training ? 41 : 42);
        AtEveryWidth(width =>
        {
            foreach (var (n, c, hw) in Shapes)
            {
                var d = Draw(rng, n, c, hw);
                string at = $"width {width}, [{n}, {c}, {hw}]";
                var expected = Reference.BatchNormForward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1, 1e-5, d.RunningMean, d.RunningVar);
                float[] rm = (float[])d.RunningMean.Clone(), rv = (float[])d.RunningVar.Clone();
                float[] mean = new float[c], invStd = new float[c], y = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, rm, rv, mean, invStd, y);

                ExpectClose($"mean, {at}", mean, expected.Mean, 1e-6, 1e-6);
                ExpectClose($"invStd, {at}", invStd, expected.InvStd, 0, 2e-6);
                ExpectClose($"y, {at}", y, expected.Y, 2e-6, 1e-5);
                ExpectClose($"running mean, {at}", rm, expected.RunningMean, 1e-7, 1e-6);
                ExpectClose($"running variance, {at}", rv, expected.RunningVar, 1e-7, 1e-6);
                if (!training)
                {
                    Assert.That(rm, Is.EqualTo(d.RunningMean), $"evaluation must leave the running mean alone, {at}");
                    Assert.That(rv, Is.EqualTo(d.RunningVar), $"evaluation must leave the running variance alone, {at}");
                }
            }
        });
    }

    [Test]
    public void Backward_EveryWidth_OddShapes_MatchesTheDoubleReference([Values] bool training)
    {
        var rng = new System.Random(training ? 43 : 44);
        AtEveryWidth(width =>
        {
            foreach (var (n, c, hw) in Shapes)
            {
                var d = Draw(rng, n, c, hw);
                string at = $"width {width}, [{n}, {c}, {hw}]";
                var forward = Reference.BatchNormForward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1, 1e-5, d.RunningMean, d.RunningVar);
                var expected = Reference.BatchNormBackward(d.X, d.Dy, n, c, hw, d.Gamma, forward.Mean, forward.InvStd, training);

                float[] mean = new float[c], invStd = new float[c], y = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, d.RunningMean, d.RunningVar, mean, invStd, y);
                float[] dx = new float[d.X.Length], dGamma = new float[c], dBeta = new float[c];
                BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, mean, invStd, training, dx, dGamma, dBeta);

                // dx cancels (with two values per channel it is nearly zero): the error scales with its terms.
                for (int i = 0; i < dx.Length; i++)
                {
                    Assert.That(dx[i], Is.EqualTo(expected.Dx[i]).Within(1e-6 + (2e-6 * expected.DxMagnitude[i])), $"dx[{i}], {at}");
                }
                double sumAbsDy = d.Dy.Sum(Math.Abs);
                for (int ch = 0; ch < c; ch++)
                {
                    Assert.That(dBeta[ch], Is.EqualTo(expected.DBeta[ch]).Within(1e-6 * (1 + sumAbsDy)), $"dβ[{ch}], {at}");
                    Assert.That(dGamma[ch], Is.EqualTo(expected.DGamma[ch]).Within(1e-5 * (1 + expected.DGammaMagnitude[ch])), $"dγ[{ch}], {at}");
                }

                // Without dx the per-channel gradients are the same bits and dx is not touched.
                float[] dGamma2 = new float[c], dBeta2 = new float[c];
                BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, mean, invStd, training, [], dGamma2, dBeta2);
                Assert.That(dGamma2, Is.EqualTo(dGamma), $"dγ without dx, {at}");
                Assert.That(dBeta2, Is.EqualTo(dBeta), $"dβ without dx, {at}");
            }
        });
    }

    [Test]
    public void WithRelu_EveryWidth_GivesTheBitsOfBatchNormThenASeparateRelu([Values] bool training)
    {
        // Forward: max(y, 0) of the plain pass. Backward: the plain backward of dy zeroed (to +0) where y ≤ 0, the mask
        // recomputed from x. Draws put about half the values of every channel below zero.
        var rng = new System.Random(training ? 45 : 46);
        AtEveryWidth(width =>
        {
            int cut = 0, total = 0;
            foreach (var (n, c, hw) in Shapes)
            {
                var d = Draw(rng, n, c, hw);
                string at = $"width {width}, [{n}, {c}, {hw}]";
                float[] mean = new float[c], invStd = new float[c], y = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, (float[])d.RunningMean.Clone(), (float[])d.RunningVar.Clone(), mean, invStd, y);
                cut += y.Count(v => v <= 0);
                total += y.Length;
                float[] fusedMean = new float[c], fusedInvStd = new float[c], fused = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, (float[])d.RunningMean.Clone(), (float[])d.RunningVar.Clone(), fusedMean, fusedInvStd, fused, relu: true);
                Assert.That(fused, Is.EqualTo(y.Select(v => Math.Max(v, 0f)).ToArray()), $"forward, {at}");

                float[] masked = d.Dy.Select((g, i) => y[i] > 0 ? g : 0f).ToArray();
                float[] dx = new float[d.X.Length], dGamma = new float[c], dBeta = new float[c];
                BatchNorm.Backward(d.X, masked, n, c, hw, d.Gamma, mean, invStd, training, dx, dGamma, dBeta);
                float[] fdx = new float[d.X.Length], fdGamma = new float[c], fdBeta = new float[c];
                BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, mean, invStd, training, fdx, fdGamma, fdBeta, d.Beta, relu: true);
                Assert.That(fdx, Is.EqualTo(dx), $"dx, {at}");
                Assert.That(fdGamma, Is.EqualTo(dGamma), $"dγ, {at}");
                Assert.That(fdBeta, Is.EqualTo(dBeta), $"dβ, {at}");
            }

            Assert.That(cut, Is.InRange(total / 5, total * 4 / 5), $"the ReLU must cut a good share of the values, width {width}");
        });
    }

    [Test]
    public void WithAnAddend_EveryWidth_GivesTheBitsOfBatchNormThenAnAdditionThenARelu([Values] bool relu)
    {
        var rng = new System.Random(relu ? 47 : 48);
        AtEveryWidth(width =>
        {
            foreach (var (n, c, hw) in Shapes)
            {
                var d = Draw(rng, n, c, hw);
                float[] addend = d.Dy;
                float[] mean = new float[c], invStd = new float[c], y = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, true, 0.1f, 1e-5f, [], [], mean, invStd, y);
                float[] expected = y.Select((v, i) => v + addend[i]).Select(v => relu ? Math.Max(v, 0f) : v).ToArray();
                float[] fused = new float[d.X.Length];
                BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, true, 0.1f, 1e-5f, [], [], mean, invStd, fused, relu, addend);
                Assert.That(fused, Is.EqualTo(expected), $"width {width}, [{n}, {c}, {hw}]");
            }
        });
    }

    [Test]
    public void Statistics_OfValuesFarFromZero_KeepTheirPrecision()
    {
        // A mean 10⁵ times the spread: Σx² − (Σx)²/m in float would lose the variance entirely.
        var rng = new System.Random(45);
        int n = 4, c = 2, hw = 50;
        var x = Enumerable.Range(0, n * c * hw).Select(_ => (float)(1000 + (0.01 * ((rng.NextDouble() * 2) - 1)))).ToArray();
        float[] gamma = [1f, 1f], beta = [0f, 0f];
        var expected = Reference.BatchNormForward(x, n, c, hw, gamma, beta, true, 0.1, 1e-8, [0f, 0f], [1f, 1f]);
        float[] mean = new float[c], invStd = new float[c], y = new float[x.Length];
        BatchNorm.Forward(x, n, c, hw, gamma, beta, true, 0.1f, 1e-8f, [], [], mean, invStd, y);
        ExpectClose("mean", mean, expected.Mean, 0, 1e-7);
        ExpectClose("invStd", invStd, expected.InvStd, 0, 1e-5);

        // y is taken relative to the mean rounded to float (the saved mean, as in PyTorch), which is off by up to
        // half an ulp of 1000 (3·10⁻⁵), a few thousandths of the spread here; the variance itself is not.
        var centered = Enumerable.Range(0, x.Length).Select(i => (x[i] - (double)mean[i / hw % c]) * expected.InvStd[i / hw % c]).ToArray();
        ExpectClose("y", y, centered, 1e-4, 1e-4);
    }

    [Test]
    public void ParallelSplit_GivesTheBitsOfOneChannelAtATime_RunAfterRun([Values] bool training)
    {
        // Large enough for the workers: the split covers channels (sums) and planes (elementwise passes).
        var rng = new System.Random(46);
        int n = 8, c = 6, hw = 1031;
        var d = Draw(rng, n, c, hw);
        float[] mean = new float[c], invStd = new float[c], y = new float[d.X.Length];
        float[] dx = new float[d.X.Length], dGamma = new float[c], dBeta = new float[c];
        BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, (float[])d.RunningMean.Clone(), (float[])d.RunningVar.Clone(), mean, invStd, y);
        BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, mean, invStd, training, dx, dGamma, dBeta);

        float[] y2 = new float[y.Length], dx2 = new float[dx.Length], mean2 = new float[c], invStd2 = new float[c], dGamma2 = new float[c], dBeta2 = new float[c];
        BatchNorm.Forward(d.X, n, c, hw, d.Gamma, d.Beta, training, 0.1f, 1e-5f, (float[])d.RunningMean.Clone(), (float[])d.RunningVar.Clone(), mean2, invStd2, y2);
        BatchNorm.Backward(d.X, d.Dy, n, c, hw, d.Gamma, mean2, invStd2, training, dx2, dGamma2, dBeta2);
        Assert.That(y2, Is.EqualTo(y), "y, second run");
        Assert.That(dx2, Is.EqualTo(dx), "dx, second run");
        Assert.That(dGamma2, Is.EqualTo(dGamma), "dγ, second run");

        // Each channel alone, [n, 1, hw], is below the parallel threshold and runs on one thread.
        for (int ch = 0; ch < c; ch++)
        {
            float[] Channel(float[] all) => Enumerable.Range(0, n).SelectMany(b => all.Skip(((b * c) + ch) * hw).Take(hw)).ToArray();
            float[] m1 = new float[1], s1 = new float[1], y1 = new float[n * hw], dx1 = new float[n * hw], g1 = new float[1], b1 = new float[1];
            float[] rm = [d.RunningMean[ch]], rv = [d.RunningVar[ch]];
            BatchNorm.Forward(Channel(d.X), n, 1, hw, [d.Gamma[ch]], [d.Beta[ch]], training, 0.1f, 1e-5f, rm, rv, m1, s1, y1);
            BatchNorm.Backward(Channel(d.X), Channel(d.Dy), n, 1, hw, [d.Gamma[ch]], m1, s1, training, dx1, g1, b1);
            Assert.That(m1[0], Is.EqualTo(mean[ch]), $"mean of channel {ch}");
            Assert.That(s1[0], Is.EqualTo(invStd[ch]), $"invStd of channel {ch}");
            Assert.That(y1, Is.EqualTo(Channel(y)), $"y of channel {ch}");
            Assert.That(dx1, Is.EqualTo(Channel(dx)), $"dx of channel {ch}");
            Assert.That((g1[0], b1[0]), Is.EqualTo((dGamma[ch], dBeta[ch])), $"dγ, dβ of channel {ch}");
        }
    }

    [Test]
    public void BadLengths_AreRejectedNamingThem()
    {
        float[] c3 = new float[3];
        var ex = Assert.Throws<ArgumentException>(() => BatchNorm.Forward(new float[29], 2, 3, 5, c3, c3, true, 0.1f, 1e-5f, [], [], c3, c3, new float[29]));
        Assert.That(ex!.Message, Does.Contain("[2, 3, 5]").And.Contain("30").And.Contain("29"));
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Forward(new float[30], 2, 3, 5, new float[2], c3, true, 0.1f, 1e-5f, [], [], c3, c3, new float[30]));
        Assert.That(ex!.Message, Does.Contain("gamma has 2").And.Contain("(3)"));
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Forward(new float[30], 2, 3, 5, c3, c3, false, 0.1f, 1e-5f, [], [], c3, c3, new float[30]));
        Assert.That(ex!.Message, Does.Contain("running"));
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Forward(new float[3], 1, 3, 1, c3, c3, true, 0.1f, 1e-5f, [], [], c3, c3, new float[3]));
        Assert.That(ex!.Message, Does.Contain("more than one value"));
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Backward(new float[30], new float[31], 2, 3, 5, c3, c3, c3, true, new float[30], c3, c3));
        Assert.That(ex!.Message, Does.Contain("dy 31"));
        var shared = new float[30];
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Backward(shared, new float[30], 2, 3, 5, c3, c3, c3, true, shared, c3, c3));
        Assert.That(ex!.Message, Does.Contain("dx overlaps"));
    }
}
