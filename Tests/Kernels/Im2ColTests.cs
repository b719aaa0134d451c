using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class Im2ColTests
{
    /// <summary>(c, h, w, kh, kw, sh, sw, ph, pw): odd sizes, strides, asymmetric windows, padding.</summary>
    private static readonly (int C, int H, int W, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw)[] Configs =
    [
        (1, 1, 1, 1, 1, 1, 1, 0, 0),
        (1, 5, 5, 3, 3, 1, 1, 0, 0),
        (3, 7, 9, 3, 3, 1, 1, 1, 1),
        (2, 8, 8, 2, 2, 2, 2, 0, 0),
        (2, 11, 6, 5, 3, 2, 1, 2, 1),
        (4, 9, 13, 3, 5, 3, 2, 1, 2),
        (1, 28, 28, 5, 5, 1, 1, 2, 2),
        (3, 4, 4, 4, 4, 1, 1, 3, 3),   // padding as large as the kernel minus one
        (2, 10, 7, 1, 1, 3, 2, 0, 0),  // 1×1 kernel with stride skips pixels
    ];

    [Test]
    public void Forward_MatchesReference()
    {
        var rng = new Random(10);
        foreach (var p in Configs)
        {
            int outH = Im2Col.OutputSize(p.H, p.Kh, p.Sh, p.Ph), outW = Im2Col.OutputSize(p.W, p.Kw, p.Sw, p.Pw);
            float[] image = Reference.Random(rng, p.C * p.H * p.W);
            var expected = new float[p.C * p.Kh * p.Kw * outH * outW];
            float[] cols = Reference.Random(rng, expected.Length); // garbage must be overwritten
            Reference.Im2Col(image, p.C, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, expected);
            Im2Col.Forward(image, p.C, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, cols);
            Assert.That(cols, Is.EqualTo(expected).AsCollection, $"config {p}");
        }
    }

    [TestCase(64, 32, 32, 3, 3, 1, 1, 1, 1)]   // Conv-2's second layer on CIFAR: split across the workers
    [TestCase(3, 64, 61, 5, 3, 2, 1, 2, 1)]    // fewer channels than workers can take
    public void LargeImages_SplitByChannel_GiveTheSameBitsBothWays(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var rng = new Random(12);
        int outH = Im2Col.OutputSize(h, kh, sh, ph), outW = Im2Col.OutputSize(w, kw, sw, pw), outSize = outH * outW;
        float[] image = Reference.Random(rng, c * h * w);
        var expected = new float[c * kh * kw * outSize];
        float[] cols = Reference.Random(rng, expected.Length);
        Reference.Im2Col(image, c, h, w, kh, kw, sh, sw, ph, pw, expected);
        Im2Col.Forward(image, c, h, w, kh, kw, sh, sw, ph, pw, cols);
        Assert.That(cols, Is.EqualTo(expected).AsCollection);

        // The adjoint, against a scalar loop that adds in the same order (channel, tap, output position).
        float[] dy = Reference.Random(rng, expected.Length);
        float[] start = Reference.Random(rng, image.Length);
        var naive = (float[])start.Clone();
        Reference.Col2Im(dy, c, h, w, kh, kw, sh, sw, ph, pw, naive);
        var grad = (float[])start.Clone();
        Im2Col.Backward(dy, c, h, w, kh, kw, sh, sw, ph, pw, grad);
        Assert.That(grad, Is.EqualTo(naive).AsCollection);
    }

    [Test]
    public void ConvolutionAsIm2ColThenSgemm_MatchesDirectConvolution()
    {
        var rng = new Random(11);
        const int f = 5;
        foreach (var p in Configs)
        {
            int outH = Im2Col.OutputSize(p.H, p.Kh, p.Sh, p.Ph), outW = Im2Col.OutputSize(p.W, p.Kw, p.Sw, p.Pw);
            int rows = p.C * p.Kh * p.Kw, outSize = outH * outW;
            float[] image = Reference.Random(rng, p.C * p.H * p.W);
            float[] weight = Reference.Random(rng, f * rows);
            var cols = new float[rows * outSize];
            var output = new float[f * outSize];
            Im2Col.Forward(image, p.C, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, cols);
            Sgemm.Multiply(false, false, f, outSize, rows, weight, rows, cols, outSize, output, outSize, false);
            double[] expected = Reference.Conv2d(image, p.C, p.H, p.W, weight, f, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw);
            for (int i = 0; i < output.Length; i++)
            {
                Assert.That(output[i], Is.EqualTo(expected[i]).Within(1e-5 + (1e-5 * Math.Abs(expected[i]))), $"config {p}, output {i}");
            }
        }
    }

    [Test]
    public void Backward_IsTheAdjointOfForward_AndAccumulates()
    {
        var rng = new Random(12);
        foreach (var p in Configs)
        {
            int outH = Im2Col.OutputSize(p.H, p.Kh, p.Sh, p.Ph), outW = Im2Col.OutputSize(p.W, p.Kw, p.Sw, p.Pw);
            float[] x = Reference.Random(rng, p.C * p.H * p.W);
            float[] y = Reference.Random(rng, p.C * p.Kh * p.Kw * outH * outW);
            float[] grad = Reference.Random(rng, x.Length);
            float[] initial = (float[])grad.Clone();
            var cols = new float[y.Length];
            Im2Col.Forward(x, p.C, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, cols);
            Im2Col.Backward(y, p.C, p.H, p.W, p.Kh, p.Kw, p.Sh, p.Sw, p.Ph, p.Pw, grad);

            // <im2col(x), y> = <x, col2im(y)>, with col2im(y) = grad − initial.
            double lhs = 0, rhs = 0, scale = 0;
            for (int i = 0; i < cols.Length; i++)
            {
                lhs += (double)cols[i] * y[i];
                scale += Math.Abs((double)cols[i] * y[i]);
            }

            for (int i = 0; i < x.Length; i++)
            {
                rhs += (double)x[i] * ((double)grad[i] - initial[i]);
            }

            Assert.That(rhs, Is.EqualTo(lhs).Within(1e-5 * (scale + 1)), $"config {p}");
        }
    }

    [Test]
    public void InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => Im2Col.OutputSize(3, 5, 1, 0));
        Assert.Throws<ArgumentException>(() => Im2Col.OutputSize(3, 3, 0, 0));
        Assert.Throws<ArgumentException>(() => Im2Col.OutputSize(3, 3, 1, -1));
        Assert.That(Im2Col.OutputSize(28, 5, 1, 2), Is.EqualTo(28));
        Assert.That(Im2Col.OutputSize(7, 3, 2, 0), Is.EqualTo(3));
        var e = Assert.Throws<ArgumentException>(() => Im2Col.Forward(new float[10], 1, 4, 4, 3, 3, 1, 1, 0, 0, new float[36]));
        Assert.That(e!.Message, Does.Contain("image has 10 elements, expected at least 16"));
        e = Assert.Throws<ArgumentException>(() => Im2Col.Forward(new float[16], 1, 4, 4, 3, 3, 1, 1, 0, 0, new float[35]));
        Assert.That(e!.Message, Does.Contain("cols has 35 elements, expected at least 36"));
    }
}
