using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class Pool2dTests
{
    private static readonly (int Planes, int H, int W, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw)[] Configs =
    [
        (1, 1, 1, 1, 1, 1, 1, 0, 0),
        (2, 4, 4, 2, 2, 2, 2, 0, 0),
        (3, 7, 9, 3, 3, 2, 2, 1, 1),
        (2, 5, 8, 3, 2, 1, 2, 1, 1),
        (4, 11, 6, 2, 3, 3, 1, 0, 1),
        (1, 28, 28, 2, 2, 2, 2, 0, 0),
    ];

    [Test]
    public void MaxForward_MatchesReference_IncludingAllNegativeWindowsNextToPadding()
    {
        var rng = new Random(20);
        foreach (var p in Configs)
        {
            float[] input = Reference.Random(rng, p.Planes * p.H * p.W);
            for (int i = 0; i < input.Length; i += 3)
            {
                input[i] = -10 - i; // padding (−∞) must not beat negative inputs
            }

            var (expected, expectedIndex) = Reference.MaxPool(input, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw);
            var output = new float[expected.Length];
            var index = new int[expected.Length];
            Pool2d.MaxForward(input, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, output, index);
            Assert.That(output, Is.EqualTo(expected).AsCollection, $"config {p}");
            Assert.That(index, Is.EqualTo(expectedIndex).AsCollection, $"config {p}");
        }
    }

    [TestCase(60 * 64, 32, 32, 2, 2, 2, 2, 0, 0)]  // Conv-2's pool on CIFAR: split across the workers by plane
    [TestCase(3, 97, 61, 3, 3, 2, 2, 1, 1)]
    public void MaxForward_OnManyPlanes_MatchesReferenceExactly(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var rng = new Random(21);
        float[] input = Reference.Random(rng, planes * h * w);
        var (expected, index) = Reference.MaxPool(input, planes, h, w, kh, kw, sh, sw, ph, pw);
        var output = new float[expected.Length];
        var argmax = new int[expected.Length];
        Pool2d.MaxForward(input, planes, h, w, kh, kw, sh, sw, ph, pw, output, argmax);
        Assert.That(output, Is.EqualTo(expected).AsCollection);
        Assert.That(argmax, Is.EqualTo(index).AsCollection);
    }

    [Test]
    public void AvgForward_MatchesReference_CountingPadding()
    {
        var rng = new Random(22);
        foreach (var p in Configs)
        {
            float[] input = Reference.Random(rng, p.Planes * p.H * p.W);
            double[] expected = Reference.AvgPool(input, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw);
            var output = new float[expected.Length];
            Pool2d.AvgForward(input, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, output);
            for (int i = 0; i < output.Length; i++)
            {
                Assert.That(output[i], Is.EqualTo(expected[i]).Within(1e-6 + (1e-6 * Math.Abs(expected[i]))), $"config {p}, output {i}");
            }
        }

        // One 3×3 window at a corner with padding 1: 4 real inputs of 1, divided by 9.
        var corner = new float[1];
        Pool2d.AvgForward(new float[] { 1, 1, 1, 1 }, 1, 2, 2, 3, 3, 2, 2, 1, 1, corner);
        Assert.That(corner[0], Is.EqualTo(4f / 9).Within(1e-7));
    }

    [Test]
    public void AvgBackward_IsTheAdjointOfForward_AndAccumulates()
    {
        var rng = new Random(23);
        foreach (var p in Configs)
        {
            float[] x = Reference.Random(rng, p.Planes * p.H * p.W);
            var y = new float[Reference.AvgPool(x, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw).Length];
            float[] g = Reference.Random(rng, y.Length);
            float[] dIn = Reference.Random(rng, x.Length);
            float[] initial = (float[])dIn.Clone();
            Pool2d.AvgForward(x, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, y);
            Pool2d.AvgBackward(g, p.Planes, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, dIn);
            double lhs = y.Zip(g, (a, b) => (double)a * b).Sum();
            double rhs = 0;
            for (int i = 0; i < x.Length; i++)
            {
                rhs += (double)x[i] * ((double)dIn[i] - initial[i]);
            }

            Assert.That(rhs, Is.EqualTo(lhs).Within(1e-5 * (1 + x.Length)), $"config {p}");
        }
    }

    [Test]
    public void MaxForward2x2_KeepsTheFirstOfTiesAndLetsTheFirstNaNWin()
    {
        // Windows (row-major (0,0),(0,1),(1,0),(1,1)): a tie, a NaN after the maximum, two NaNs, −0 against +0.
        float nan = float.NaN;
        float[] input =
        [
            5, 5, 1, nan, nan, 0, -0f,
            3, 5, 9, 2, 1, nan, 0f,
        ];
        var output = new float[3];
        var index = new int[3];
        Pool2d.MaxForward(input, 1, 2, 7, 2, 2, 2, 2, 0, 0, output, index);
        Assert.That(index, Is.EqualTo(new[] { 0, 3, 4 }).AsCollection);
        Assert.That(output[0], Is.EqualTo(5f));
        Assert.That(float.IsNaN(output[1]) && float.IsNaN(output[2]), Is.True);

        // The general loop (a 2×2 window with stride 1 takes it) agrees on every window of planes full of ties, NaNs
        // and signed zeros, 20 windows a row: two blocks of eight for the vector path and a scalar tail.
        var rng = new Random(24);
        const int h = 6, w = 40, outH = h / 2, outW = w / 2;
        for (int round = 0; round < 20; round++)
        {
            float[] plane = Enumerable.Range(0, h * w).Select(_ => rng.Next(6) switch { 0 => nan, 1 => -0f, 2 => 0f, _ => (float)rng.Next(3) }).ToArray();
            var fast = new float[outH * outW];
            var fastAt = new int[outH * outW];
            Pool2d.MaxForward(plane, 1, h, w, 2, 2, 2, 2, 0, 0, fast, fastAt);
            var all = new float[(h - 1) * (w - 1)];
            var allAt = new int[(h - 1) * (w - 1)];
            Pool2d.MaxForward(plane, 1, h, w, 2, 2, 1, 1, 0, 0, all, allAt);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    int general = (2 * oy * (w - 1)) + (2 * ox), o = (oy * outW) + ox;
                    Assert.That(fastAt[o], Is.EqualTo(allAt[general]), $"window ({oy},{ox})");
                    Assert.That(BitConverter.SingleToInt32Bits(fast[o]), Is.EqualTo(BitConverter.SingleToInt32Bits(all[general])), $"window ({oy},{ox})");
                }
            }
        }
    }

    [TestCase(60 * 64, 32, 32, 2, 2, 2, 2, 0, 0)]
    [TestCase(5, 7, 9, 3, 3, 2, 2, 1, 1)]
    [TestCase(2, 5, 5, 3, 3, 1, 1, 1, 1)]  // overlapping windows: one input can take several gradients
    public void MaxBackward_ScattersEachGradientToItsMaximum(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var rng = new Random(25);
        float[] input = Reference.Random(rng, planes * h * w);
        var (expected, index) = Reference.MaxPool(input, planes, h, w, kh, kw, sh, sw, ph, pw);
        int outPlane = expected.Length / planes;
        int[] flat = index.Select((at, o) => at + (o / outPlane * h * w)).ToArray();
        float[] dy = Reference.Random(rng, expected.Length);
        var naive = new float[input.Length];
        for (int o = 0; o < dy.Length; o++)
        {
            naive[flat[o]] += dy[o];
        }

        float[] dx = Reference.Random(rng, input.Length); // garbage must be cleared
        Pool2d.MaxBackward(dy, flat, planes, h * w, outPlane, dx);
        Assert.That(dx, Is.EqualTo(naive).AsCollection);

        flat[^1] = 0; // the last output's index in the first plane
        var e = Assert.Throws<ArgumentException>(() => Pool2d.MaxBackward(dy, flat, planes, h * w, outPlane, dx));
        Assert.That(e!.Message, Does.Contain($"argmax[{flat.Length - 1}] = 0 lies outside plane {planes - 1}"));
    }

    [Test]
    public void InvalidArguments_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[16], 1, 4, 4, 2, 2, 2, 2, 0, 0, new float[3], new int[4]));
        Assert.That(e!.Message, Does.Contain("output has 3 elements, expected at least 4"));
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[16], 1, 4, 4, 2, 2, 2, 2, 0, 0, new float[4], new int[3]));
        Assert.Throws<ArgumentException>(() => Pool2d.AvgForward(new float[16], 1, 4, 4, 2, 2, 2, 2, 2, 2, new float[9]));
    }
}
