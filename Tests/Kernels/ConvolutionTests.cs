using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class ConvolutionTests
{
    /// <summary>Odd sizes, strides, asymmetric windows and padding; depth and position blocks crossed; parallel splits.</summary>
    private static readonly ConvShape[] Shapes =
    [
        new(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
        new(2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1),
        new(3, 2, 11, 6, 7, 5, 3, 2, 1, 2, 1),
        new(2, 4, 9, 13, 13, 3, 5, 3, 2, 1, 2),
        new(2, 30, 6, 7, 8, 3, 3, 1, 1, 1, 1),     // 270 taps: crosses a depth block of the forward product
        new(1, 2, 20, 20, 3, 3, 3, 1, 1, 0, 0),    // 324 positions: crosses a depth block of the weight gradient
        new(2, 3, 4, 4, 6, 4, 4, 1, 1, 3, 3),      // padding as large as the kernel minus one
        new(1, 2, 3, 3, 2, 2, 2, 1, 1, 2, 2),      // padding as large as the kernel: the strided path for dx
        new(2, 2, 10, 7, 4, 1, 1, 3, 2, 0, 0),     // 1×1 kernel with stride skips pixels
        new(4, 16, 16, 16, 20, 3, 3, 1, 1, 1, 1),  // large enough to be split across the workers
        new(3, 5, 12, 12, 40, 3, 3, 1, 1, 1, 1),   // more output rows than columns of dW: split by rows
        new(2, 32, 9, 9, 67, 3, 3, 1, 1, 1, 1),    // a dW of 12 × 9 register tiles: split by tiles, not images
        new(3, 40, 2, 2, 20, 3, 3, 1, 1, 1, 1),    // 4 positions an image: forward panels run across images
        new(2, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1),      // Winograd: rows of 4 tiles (4-lane transforms), two images a block
        new(3, 10, 6, 48, 9, 3, 3, 1, 1, 1, 1),    // Winograd: rows of 24 tiles, 3 vectors of 8; a partial last block
        new(1, 12, 4, 64, 32, 3, 3, 1, 1, 1, 1),   // Winograd: rows of 32 tiles, 2 vectors of 16; its weight gradient
        new(1, 260, 2, 8, 32, 3, 3, 1, 1, 1, 1),   // Winograd: 260 channels cross a depth block of the products
        new(5, 40, 16, 16, 64, 3, 3, 1, 1, 1, 1),  // Winograd: 5 blocks summed in 5 chunks for the weight gradient
        new(3, 16, 6, 16, 16, 3, 3, 1, 1, 1, 1),   // Winograd: 16 outputs, the weight gradient's tiles two vectors of 8
        new(9, 8, 4, 4, 7, 3, 3, 1, 1, 1, 1),      // 16 positions an image, 144 columns: a partial last panel
        new(70, 18, 2, 2, 64, 3, 3, 1, 1, 1, 1),   // a large dW over 4 positions an image: depth blocks across images
        new(6, 16, 16, 16, 20, 3, 3, 2, 2, 1, 1),  // strided and large enough that each worker runs a GEMM per image
        new(2, 3, 24, 24, 8, 3, 3, 2, 2, 1, 1),    // stride 2 with 12 outputs a row: vector gathers of every other input
        new(2, 4, 22, 22, 8, 1, 1, 2, 2, 0, 0),    // 1×1 stride 2, unpadded: the gather reads the input itself
        new(3, 3, 10, 9, 16, 3, 3, 1, 1, 1, 1),    // 16 outputs: the direct weight gradient, 27 taps (a partial tile)
        new(9, 5, 8, 7, 16, 3, 3, 2, 2, 1, 1),     // 16 outputs, stride 2, more images than chunks
        new(2, 4, 7, 7, 16, 1, 1, 1, 1, 0, 0),     // 16 outputs, 1×1 unpadded: fewer taps than a tile's rows
        new(3, 3, 9, 10, 48, 3, 3, 1, 1, 1, 1),    // 48 outputs, a small dW: direct, in blocks of 32 and 16 channels
        new(2, 2, 6, 6, 32, 3, 3, 2, 2, 1, 1),     // 32 outputs, stride 2: direct, one block of 32 channels
        new(2, 30, 3, 16, 12, 3, 3, 1, 1, 1, 1),   // rows of 16: the forward reads the image in place; 270 taps, 3 vectors
        new(3, 3, 5, 8, 7, 3, 3, 1, 1, 1, 1),      // rows of 8: in place at AVX2 only, 5 vectors, a partial channel tile
        new(2, 5, 8, 8, 12, 3, 3, 1, 1, 1, 1),     // rows of 8, 64 positions: at AVX-512 each vector spans two rows
        new(1, 3, 4, 24, 9, 3, 3, 1, 1, 1, 1),     // rows of 24: vectors of 16 whose halves straddle rows
    ];

    [Test]
    public void AllThreeProducts_MatchTheDirectSums()
    {
        var rng = new Random(21);
        foreach (var s in Shapes)
        {
            float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
            float[] w = Reference.Random(rng, s.O * s.Taps);
            float[] dy = Reference.Random(rng, s.N * s.O * s.Positions);
            var (y, dx, dw) = Direct(s, x, w, dy);

            float[] got = Reference.Random(rng, y.V.Length); // garbage must be overwritten
            Convolution.Forward(x, w, s, got);
            AssertClose(got, y, $"forward {s}");

            got = Reference.Random(rng, dx.V.Length);
            Convolution.InputGrad(dy, w, s, got);
            AssertClose(got, dx, $"input gradient {s}");

            got = Reference.Random(rng, dw.V.Length);
            Convolution.WeightGrad(x, dy, s, got);
            AssertClose(got, dw, $"weight gradient {s}");
        }
    }

    [Test]
    public void ForwardAndWeightGradient_GiveTheBitsOfOneIm2ColAndSgemmPerImage()
    {
        // The batch-level products keep each element's sum order: FMA chains per KC block of the depth, blocks
        // added in order (over images, then positions, for the weight gradient). Winograd, off here, has its own order.
        var rng = new Random(22);
        int largeGrids = 0;
        Convolution.WinogradEnabled = false;
        try
        {
            foreach (var s in Shapes)
            {
                float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
                float[] w = Reference.Random(rng, s.O * s.Taps);
                float[] dy = Reference.Random(rng, s.N * s.O * s.Positions);
                int taps = s.Taps, positions = s.Positions, chw = s.C * s.H * s.W, ohw = s.O * positions;
                var cols = new float[taps * positions];
                var y = new float[dy.Length];
                var dw = new float[w.Length];
                for (int i = 0; i < s.N; i++)
                {
                    Im2Col.Forward(x.AsSpan(i * chw, chw), s.C, s.H, s.W, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, cols);
                    Sgemm.Multiply(false, false, s.O, positions, taps, w, taps, cols, positions, y.AsSpan(i * ohw, ohw), positions, accumulate: false);
                    Sgemm.Multiply(false, true, s.O, taps, positions, dy.AsSpan(i * ohw, ohw), positions, cols, positions, dw, taps, accumulate: i > 0);
                }

                var got = new float[y.Length];
                Convolution.Forward(x, w, s, got);
                Assert.That(got, Is.EqualTo(y).AsCollection, $"forward {s}");
                if (Convolution.WeightGradSumsImageByImage(s))
                {
                    got = new float[dw.Length];
                    Convolution.WeightGrad(x, dy, s, got);
                    Assert.That(got, Is.EqualTo(dw).AsCollection, $"weight gradient {s}");
                    largeGrids++;
                }
            }
        }
        finally
        {
            Convolution.WinogradEnabled = true;
        }

        Assert.That(largeGrids, Is.GreaterThan(0), "some shape must take the tile-split weight gradient");
        if (Sgemm.SelectWidth() >= 8)
        {
            Assert.That(Shapes.Count(s => Convolution.DirectForwardApplies(s, Sgemm.SelectWidth())), Is.GreaterThanOrEqualTo(3), "some shapes must take the in-place forward");
        }
    }

    [Test]
    public void Winograd_TakesThe3x3Stride1Shapes_AndLeavesTheOthers()
    {
        var winograd = Shapes.Where(Convolution.WinogradApplies).ToArray();
        Assert.That(winograd, Has.Length.GreaterThanOrEqualTo(6), "forward and input gradient");
        Assert.That(Shapes.Count(Convolution.WinogradWeightGradApplies), Is.GreaterThanOrEqualTo(3), "weight gradient");
        Assert.That(winograd.All(s => s.KH == 3 && s.KW == 3 && s.SH == 1 && s.PH == 1 && s.W % 8 == 0), Is.True);
        Assert.That(Convolution.WinogradApplies(new ConvShape(60, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.False, "3 input channels: direct");
        Assert.That(Convolution.WinogradApplies(new ConvShape(60, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.True, "Conv-2's 64→64 layer");
        Assert.That(Convolution.WinogradApplies(new ConvShape(128, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1)), Is.False, "stride 2: direct");

        // Blocks are whole rows of tiles and a multiple of 32 tiles, whatever the width.
        foreach (var s in winograd)
        {
            int block = Convolution.WinogradBlock(s);
            Assert.That(block % 32, Is.Zero, $"{s}");
            Assert.That(block % (s.W / 2), Is.Zero, $"{s}");
        }
    }

    [Test]
    public void Winograd_AgreesWithTheDirectProducts_OnAResNetShape()
    {
        // One of ResNet-20's 32→32 layers at a small batch: the two algorithms' results differ only by rounding.
        var s = new ConvShape(2, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1);
        var rng = new Random(27);
        float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
        float[] w = Reference.Random(rng, s.O * s.Taps);
        float[] dy = Reference.Random(rng, s.N * s.O * s.Positions);
        var (y, dx, dw) = Direct(s, x, w, dy);
        Assert.That(Convolution.WinogradApplies(s) && Convolution.WinogradWeightGradApplies(s), Is.True);
        var got = new float[y.V.Length];
        Convolution.Forward(x, w, s, got);
        AssertClose(got, y, "forward");
        var direct = new float[got.Length];
        Convolution.WinogradEnabled = false;
        try
        {
            Convolution.Forward(x, w, s, direct);
        }
        finally
        {
            Convolution.WinogradEnabled = true;
        }

        Assert.That(got, Is.Not.EqualTo(direct).AsCollection, "Winograd rounds differently from the direct sums");
        got = new float[dx.V.Length];
        Convolution.InputGrad(dy, w, s, got);
        AssertClose(got, dx, "input gradient");
        got = new float[dw.V.Length];
        Convolution.WeightGrad(x, dy, s, got);
        AssertClose(got, dw, "weight gradient");
    }

    [Test]
    public void DirectWeightGradient_IsOneFmaChainPerImage_AddedInOrder()
    {
        // The direct path's order, element by element: a fused multiply-add chain over each image's positions from
        // zero, added to its chunk's sum image by image, and the chunks' sums added in chunk order.
        var rng = new Random(25);
        var direct = Shapes.Where(s => Convolution.DirectWeightGradApplies(s) && !Convolution.WinogradWeightGradApplies(s)).ToArray();
        Assert.That(direct, Has.Length.GreaterThanOrEqualTo(5), "the shapes must reach the direct path");
        foreach (var s in direct)
        {
            float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
            float[] dy = Reference.Random(rng, s.N * s.O * s.Positions);
            int taps = s.Taps, chunks = Convolution.WeightGradChunks(s), chw = s.C * s.H * s.W;
            var cols = new float[taps * s.Positions];
            var total = new float[s.O * taps];
            for (int c = 0; c < chunks; c++)
            {
                var sum = new float[total.Length];
                for (int i = s.N * c / chunks; i < s.N * (c + 1) / chunks; i++)
                {
                    Im2Col.Forward(x.AsSpan(i * chw, chw), s.C, s.H, s.W, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, cols);
                    for (int o = 0; o < s.O; o++)
                    {
                        for (int t = 0; t < taps; t++)
                        {
                            float chain = 0f;
                            for (int p = 0; p < s.Positions; p++)
                            {
                                chain = MathF.FusedMultiplyAdd(cols[(t * s.Positions) + p], dy[(((i * s.O) + o) * s.Positions) + p], chain);
                            }

                            sum[(o * taps) + t] = i == s.N * c / chunks ? chain : sum[(o * taps) + t] + chain;
                        }
                    }
                }

                for (int k = 0; k < total.Length; k++)
                {
                    total[k] = c == 0 ? sum[k] : total[k] + sum[k];
                }
            }

            var got = new float[total.Length];
            Convolution.WeightGrad(x, dy, s, got);
            Assert.That(got, Is.EqualTo(total).AsCollection, $"{s}");
        }
    }

    [Test]
    public void Bias_IsAddedWithTheRoundingOfASeparateAddition()
    {
        var rng = new Random(24);
        foreach (var s in Shapes)
        {
            float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
            float[] w = Reference.Random(rng, s.O * s.Taps);
            float[] bias = Reference.Random(rng, s.O);
            var plain = new float[s.N * s.O * s.Positions];
            Convolution.Forward(x, w, s, plain);
            for (int i = 0; i < plain.Length; i++)
            {
                plain[i] += bias[i / s.Positions % s.O];
            }

            var fused = new float[plain.Length];
            Convolution.Forward(x, w, bias, s, fused);
            Assert.That(fused, Is.EqualTo(plain).AsCollection, $"{s}");
        }

        var e = Assert.Throws<ArgumentException>(() => Convolution.Forward(new float[150], new float[108], new float[3], new ConvShape(2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1), new float[200]));
        Assert.That(e!.Message, Does.Contain("bias has 3 elements, expected 4"));
    }

    [Test]
    public void Relu_IsAppliedWithTheBitsOfASeparateRelu_AtEveryWidth()
    {
        var rng = new Random(26);
        foreach (var s in Shapes)
        {
            float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
            float[] w = Reference.Random(rng, s.O * s.Taps);
            float[] bias = Reference.Random(rng, s.O);
            foreach (int width in new[] { 0, 8, 4, 1 })
            {
                Sgemm.ForcedWidth = width;
                try
                {
                    foreach (var b in new[] { bias, [] })
                    {
                        var plain = new float[s.N * s.O * s.Positions];
                        Convolution.Forward(x, w, b, s, plain);
                        var fused = Reference.Random(rng, plain.Length);
                        Convolution.Forward(x, w, b, s, fused, relu: true);
                        Assert.That(fused, Is.EqualTo(plain.Select(v => Math.Max(v, 0f)).ToArray()).AsCollection, $"{s} width {width} bias {b.Length > 0}");
                    }
                }
                finally
                {
                    Sgemm.ForcedWidth = 0;
                }
            }
        }
    }

    [Test]
    public void WeightGradientChunks_DependOnTheShapeAlone()
    {
        Assert.That(Convolution.WeightGradChunks(new ConvShape(60, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.EqualTo(1), "Conv-2's 64→64 layer");
        Assert.That(Convolution.WeightGradChunks(new ConvShape(60, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.EqualTo(8), "Conv-2's first layer: 11 tiles");
        Assert.That(Convolution.WeightGradChunks(new ConvShape(3, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1)), Is.EqualTo(3), "no more chunks than images");
    }

    [Test]
    public void EveryWidthAndThreadCount_GivesTheSameBits()
    {
        var rng = new Random(23);
        foreach (var s in new[] { Shapes[4], Shapes[9], Shapes[10], Shapes[13], Shapes[14], Shapes[15], Shapes[16], Shapes[17], Shapes[^14], Shapes[^13], Shapes[^12], Shapes[^11], Shapes[^10], Shapes[^9], Shapes[^8], Shapes[^7], Shapes[^6], Shapes[^5], Shapes[^4], Shapes[^3], Shapes[^2], Shapes[^1], new ConvShape(2, 3, 9, 8, 5, 3, 3, 2, 2, 1, 1) })
        {
            float[] x = Reference.Random(rng, s.N * s.C * s.H * s.W);
            float[] w = Reference.Random(rng, s.O * s.Taps);
            float[] dy = Reference.Random(rng, s.N * s.O * s.Positions);
            var first = Run(0, 0);
            foreach (var (width, threads) in new[] { (0, 1), (8, 0), (4, 0), (1, 0), (8, 1) })
            {
                var other = Run(width, threads);
                Assert.That(other.Y, Is.EqualTo(first.Y).AsCollection, $"forward {s} width {width} threads {threads}");
                Assert.That(other.Dx, Is.EqualTo(first.Dx).AsCollection, $"input gradient {s} width {width} threads {threads}");
                Assert.That(other.Dw, Is.EqualTo(first.Dw).AsCollection, $"weight gradient {s} width {width} threads {threads}");
            }

            (float[] Y, float[] Dx, float[] Dw) Run(int width, int threads)
            {
                Sgemm.ForcedWidth = width;
                Sgemm.ThreadLimit = threads;
                try
                {
                    var y = new float[dy.Length];
                    var dx = new float[x.Length];
                    var dw = new float[w.Length];
                    Convolution.Forward(x, w, s, y);
                    Convolution.InputGrad(dy, w, s, dx);
                    Convolution.WeightGrad(x, dy, s, dw);
                    return (y, dx, dw);
                }
                finally
                {
                    Sgemm.ForcedWidth = 0;
                    Sgemm.ThreadLimit = 0;
                }
            }
        }
    }

    [Test]
    public void EmptyBatch_ZeroesTheWeightGradient()
    {
        var s = new ConvShape(0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1);
        float[] dw = Enumerable.Repeat(7f, 3 * 18).ToArray();
        Convolution.WeightGrad([], [], s, dw);
        Assert.That(dw, Is.All.EqualTo(0f));
    }

    [Test]
    public void BadShapesAndShortSpans_AreRejectedWithTheValues()
    {
        var s = new ConvShape(2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1);
        var ex = Assert.Throws<ArgumentException>(() => Convolution.Forward(new float[10], new float[4 * 27], s, new float[2 * 4 * 25]));
        Assert.That(ex!.Message, Does.Contain("x has 10 elements, expected at least 150"));
        ex = Assert.Throws<ArgumentException>(() => Convolution.WeightGrad(new float[150], new float[2 * 4 * 25], s, new float[5]));
        Assert.That(ex!.Message, Does.Contain("w has 5 elements"));
        var tooBig = s with { KH = 9 };
        ex = Assert.Throws<ArgumentException>(() => Convolution.InputGrad(new float[1000], new float[1000], tooBig, new float[1000]));
        Assert.That(ex!.Message, Does.Contain("invalid shape"));
    }

    /// <summary>The three products by their definitions, in double, with the magnitude sums that scale their rounding.</summary>
    private static ((double[] V, double[] M) Y, (double[] V, double[] M) Dx, (double[] V, double[] M) Dw) Direct(ConvShape s, float[] x, float[] w, float[] dy)
    {
        var y = (new double[s.N * s.O * s.Positions], new double[s.N * s.O * s.Positions]);
        var dx = (new double[x.Length], new double[x.Length]);
        var dw = (new double[w.Length], new double[w.Length]);
        for (int n = 0; n < s.N; n++)
        {
            for (int o = 0; o < s.O; o++)
            {
                for (int oy = 0; oy < s.OH; oy++)
                {
                    for (int ox = 0; ox < s.OW; ox++)
                    {
                        int yi = (((((n * s.O) + o) * s.OH) + oy) * s.OW) + ox;
                        for (int c = 0; c < s.C; c++)
                        {
                            for (int ky = 0; ky < s.KH; ky++)
                            {
                                for (int kx = 0; kx < s.KW; kx++)
                                {
                                    int iy = (oy * s.SH) - s.PH + ky, ix = (ox * s.SW) - s.PW + kx;
                                    if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W)
                                    {
                                        continue;
                                    }

                                    int xi = (((((n * s.C) + c) * s.H) + iy) * s.W) + ix;
                                    int wi = (((((o * s.C) + c) * s.KH) + ky) * s.KW) + kx;
                                    Add(y, yi, x[xi], w[wi]);
                                    Add(dx, xi, dy[yi], w[wi]);
                                    Add(dw, wi, dy[yi], x[xi]);
                                }
                            }
                        }
                    }
                }
            }
        }

        return (y, dx, dw);

        static void Add((double[] V, double[] M) sum, int i, float a, float b)
        {
            sum.V[i] += (double)a * b;
            sum.M[i] += Math.Abs((double)a * b);
        }
    }

    private static void AssertClose(float[] got, (double[] V, double[] M) expected, string what)
    {
        for (int i = 0; i < got.Length; i++)
        {
            double tolerance = 1e-6 + (2e-6 * expected.M[i]);
            if (Math.Abs(got[i] - expected.V[i]) > tolerance)
            {
                Assert.Fail($"{what}: element {i} is {got[i]}, expected {expected.V[i]} ± {tolerance}");
            }
        }
    }
}
