using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

/// <summary>im2col, col2im and pooling at every width 1–70 (and a few heights), against the references.</summary>
public class WindowSweepTests
{
    private static readonly (int K, int S, int P)[] Windows = [(1, 1, 0), (2, 2, 0), (3, 1, 1), (3, 2, 1), (5, 2, 2)];

    [Test]
    public void Im2ColAndItsAdjoint_EveryWidth1To70()
    {
        var rng = new Random(21);
        foreach (var (k, s, p) in Windows)
        {
            for (int w = 1; w <= 70; w++)
            {
                int h = 1 + (w % 4), c = 1 + (w % 3);
                if (h + (2 * p) < k || w + (2 * p) < k)
                {
                    continue;
                }

                int outH = Im2Col.OutputSize(h, k, s, p), outW = Im2Col.OutputSize(w, k, s, p);
                float[] image = Reference.Random(rng, c * h * w);
                var expected = new float[c * k * k * outH * outW];
                Reference.Im2Col(image, c, h, w, k, k, s, s, p, p, expected);
                var cols = new float[expected.Length];
                Im2Col.Forward(image, c, h, w, k, k, s, s, p, p, cols);
                Assert.That(cols, Is.EqualTo(expected), $"im2col k{k} s{s} p{p} c{c} h{h} w{w}");

                // col2im is the adjoint: <im2col(x), y> = <x, col2im(y)>.
                float[] y = Reference.Random(rng, cols.Length);
                var back = new float[image.Length];
                Im2Col.Backward(y, c, h, w, k, k, s, s, p, p, back);
                double left = cols.Select((v, i) => (double)v * y[i]).Sum(), right = image.Select((v, i) => (double)v * back[i]).Sum();
                Assert.That(right, Is.EqualTo(left).Within(1e-4 * (1 + Math.Abs(left))), $"col2im k{k} s{s} p{p} w{w}");
            }
        }
    }

    [Test]
    public void Pooling_EveryWidth1To70()
    {
        var rng = new Random(22);
        foreach (var (k, s, p) in Windows.Where(x => x.P * 2 <= x.K))
        {
            for (int w = 1; w <= 70; w++)
            {
                int h = 2 + (w % 3), planes = 1 + (w % 2);
                if (h + (2 * p) < k || w + (2 * p) < k)
                {
                    continue;
                }

                int outH = Im2Col.OutputSize(h, k, s, p), outW = Im2Col.OutputSize(w, k, s, p);
                float[] input = Reference.Random(rng, planes * h * w);
                var (expectedMax, expectedIndex) = Reference.MaxPool(input, planes, h, w, k, k, s, s, p, p);
                var max = new float[planes * outH * outW];
                var index = new int[max.Length];
                Pool2d.MaxForward(input, planes, h, w, k, k, s, s, p, p, max, index);
                Assert.That(max, Is.EqualTo(expectedMax), $"max k{k} s{s} p{p} w{w}");
                Assert.That(index, Is.EqualTo(expectedIndex), $"argmax k{k} s{s} p{p} w{w}");

                var avg = new float[max.Length];
                Pool2d.AvgForward(input, planes, h, w, k, k, s, s, p, p, avg);
                var expectedAvg = Reference.AvgPool(input, planes, h, w, k, k, s, s, p, p);
                Assert.That(avg, Is.EqualTo(expectedAvg.Select(v => (float)v).ToArray()).Within(1e-5f), $"avg k{k} s{s} p{p} w{w}");
            }
        }
    }
}
