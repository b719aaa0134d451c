using SparseNet.Kernels.Cpu;
using static SparseNet.Tests.Kernels.SparseKernelChecks;

namespace SparseNet.Tests.Kernels;

public class SparseConvolutionTests
{
    /// <summary>One layer: the masked weight, its CSR form and transpose, and fresh inputs.</summary>
    private sealed class Layer
    {
        public Layer(Random rng, ConvShape s, float[] mask)
        {
            (S, Mask) = (s, mask);
            Weight = Reference.Random(rng, s.O * s.Taps);
            Bias = Reference.Random(rng, s.O);
            X = Reference.Random(rng, s.N * s.C * s.H * s.W);
            Dy = Reference.Random(rng, s.N * s.O * s.Positions);
            Rows = SparseRows.FromMask(mask, s.O, s.Taps);
            Rows.LoadValues(Weight);
            Transposed = Rows.Transpose();
        }

        public ConvShape S { get; }

        public float[] Mask { get; }

        public float[] Weight { get; }

        public float[] Bias { get; }

        public float[] X { get; }

        public float[] Dy { get; }

        public SparseRows Rows { get; }

        public SparseRows Transposed { get; }

        public float[] Masked => Weight.Zip(Mask, (w, m) => w * m).ToArray();

        /// <summary>The three sparse kernels, outputs pre-filled with NaN so that an unwritten element shows.</summary>
        public (float[] Y, float[] Dx, float[] DwValues, float[] Dw) Run(bool bias = false, bool relu = false)
        {
            var y = Enumerable.Repeat(float.NaN, S.N * S.O * S.Positions).ToArray();
            var dx = Enumerable.Repeat(float.NaN, S.N * S.C * S.H * S.W).ToArray();
            var dwValues = Enumerable.Repeat(float.NaN, Rows.Count).ToArray();
            var dw = Enumerable.Repeat(float.NaN, S.O * S.Taps).ToArray();
            SparseConvolution.Forward(Rows, X, bias ? Bias : [], S, y, relu);
            SparseConvolution.InputGrad(Transposed, Dy, S, dx);
            SparseConvolution.WeightGrad(Rows, X, Dy, S, dwValues, dw);
            return (y, dx, dwValues, dw);
        }
    }

    /// <summary>
    /// Compares one case with the double-precision reference. The tolerance is the float32 error bound of an n-term
    /// sum, (n+2)·u·Σ|terms|, plus a tiny relative term: one wrong, shifted or missing product fails it.
    /// </summary>
    private static void Check(Layer l, string label)
    {
        var s = l.S;
        var (y, dx, dwValues, dw) = l.Run();
        int kk = s.KH * s.KW;
        float Wm(int o, int c, int ky, int kx) => l.Mask[(o * s.Taps) + (c * kk) + (ky * s.KW) + kx] * l.Weight[(o * s.Taps) + (c * kk) + (ky * s.KW) + kx];
        double Xv(int n, int c, int i, int j) => i < 0 || i >= s.H || j < 0 || j >= s.W ? 0 : l.X[(((n * s.C) + c) * s.H * s.W) + (i * s.W) + j];
        double Dyv(int n, int o, int i, int j) => i < 0 || i >= s.OH || j < 0 || j >= s.OW ? 0 : l.Dy[(((n * s.O) + o) * s.Positions) + (i * s.OW) + j];

        // y and dx are one sum over the other side's channels and the taps: dx correlates dy with the flipped kernel.
        Correlate(y, s.O, s.C, s.OH, s.OW, (n, o, c, i, j, ky, kx) => Wm(o, c, ky, kx) * Xv(n, c, i + ky - s.PH, j + kx - s.PW), "y");
        Correlate(dx, s.C, s.O, s.H, s.W, (n, c, o, i, j, ky, kx) => Wm(o, c, ky, kx) * Dyv(n, o, i + s.PH - ky, j + s.PW - kx), "dx");

        for (int o = 0; o < s.O; o++)
        {
            for (int t = 0; t < s.Taps; t++)
            {
                if (l.Mask[(o * s.Taps) + t] == 0f)
                {
                    continue;
                }

                int c = t / kk, ky = t % kk / s.KW, kx = t % s.KW;
                double sum = 0, magnitude = 0;
                for (int n = 0; n < s.N; n++)
                {
                    for (int i = 0; i < s.OH; i++)
                    {
                        for (int j = 0; j < s.OW; j++)
                        {
                            double term = Dyv(n, o, i, j) * Xv(n, c, i + ky - s.PH, j + kx - s.PW);
                            sum += term;
                            magnitude += Math.Abs(term);
                        }
                    }
                }

                Near(dw[(o * s.Taps) + t], sum, magnitude, s.N * s.Positions, $"{label}: dW[{o},{c},{ky},{kx}]");
            }
        }

        CheckEntriesAndPruned(l.Rows, l.Mask, dwValues, dw, label);

        // got[n,a,i,j] against Σ over the other side's channel b and the taps ky, kx of term(n, a, b, i, j, ky, kx).
        void Correlate(float[] got, int planes, int others, int rows, int columns, Func<int, int, int, int, int, int, int, double> term, string name)
        {
            for (int n = 0; n < s.N; n++)
            {
                for (int a = 0; a < planes; a++)
                {
                    for (int i = 0; i < rows; i++)
                    {
                        for (int j = 0; j < columns; j++)
                        {
                            double sum = 0, magnitude = 0;
                            for (int b = 0; b < others; b++)
                            {
                                for (int ky = 0; ky < s.KH; ky++)
                                {
                                    for (int kx = 0; kx < s.KW; kx++)
                                    {
                                        double t = term(n, a, b, i, j, ky, kx);
                                        sum += t;
                                        magnitude += Math.Abs(t);
                                    }
                                }
                            }

                            Near(got[(((n * planes) + a) * rows * columns) + (i * columns) + j], sum, magnitude, others * kk, $"{label}: {name}[{n},{a},{i},{j}]");
                        }
                    }
                }
            }
        }
    }

    private static void AtEveryWidth(Action body) => SparseKernelChecks.AtEveryWidth(width => SparseConvolution.ForcedWidth = width, body);

    /// <summary>Runs <paramref name="body"/> on each shape at every vector width, with a label naming both.</summary>
    private static void AtEveryWidth(IEnumerable<ConvShape> shapes, Action<ConvShape, string> body) => AtEveryWidth(() =>
    {
        foreach (var s in shapes)
        {
            body(s, $"width {SparseConvolution.ForcedWidth} {s}");
        }
    });

    /// <summary>Random small shapes: odd sizes, 1 to 3 images, 3×3, 5×5 and 3×5 kernels, padding 0 to 2.</summary>
    private static List<ConvShape> RandomShapes(Random rng, int count)
    {
        (int KH, int KW)[] kernels = [(3, 3), (5, 5), (3, 5)];
        var shapes = new List<ConvShape>();
        while (shapes.Count < count)
        {
            var (kh, kw) = kernels[rng.Next(kernels.Length)];
            int ph = rng.Next(3), pw = rng.Next(3);
            int h = rng.Next(1, 10), w = rng.Next(1, 10);
            if (h + (2 * ph) < kh || w + (2 * pw) < kw)
            {
                continue;
            }

            shapes.Add(new ConvShape(rng.Next(1, 4), rng.Next(1, 5), h, w, rng.Next(1, 6), kh, kw, 1, 1, ph, pw));
        }

        return shapes;
    }

    [Test]
    public void RandomShapesAndMasks_MatchReference_AtEveryWidth()
    {
        var rng = new Random(1);
        var shapes = RandomShapes(rng, 12);

        // Rows wider than the vectors, not multiples of them: whole vectors plus an overlapping last one.
        shapes.Add(new ConvShape(2, 3, 5, 17, 4, 3, 3, 1, 1, 1, 1));
        shapes.Add(new ConvShape(1, 2, 4, 33, 3, 3, 5, 1, 1, 0, 2));
        shapes.Add(new ConvShape(3, 2, 6, 20, 2, 5, 5, 1, 1, 2, 1));
        AtEveryWidth(shapes, (s, label) =>
        {
            foreach (double density in new[] { 0.1, 0.5 })
            {
                Check(new Layer(rng, s, RandomMask(rng, s.O, s.Taps, density)), $"{label} density {density}");
            }
        });
    }

    [Test]
    public void EmptyRowsAndColumns_FullyPrunedAndFullyDense_MatchReference()
    {
        var rng = new Random(2);
        ConvShape[] shapes =
        [
            new(2, 4, 7, 9, 5, 3, 3, 1, 1, 1, 1),
            new(1, 3, 9, 18, 4, 5, 5, 1, 1, 2, 2),
            new(3, 2, 3, 3, 6, 3, 5, 1, 1, 0, 1),
            new(1, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1),
        ];
        AtEveryWidth(shapes, (s, label) =>
        {
            Check(new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.4, emptyRows: true)), $"{label} empty output channels");
            Check(new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.4, emptyColumns: true)), $"{label} empty taps");
            Check(new Layer(rng, s, new float[s.O * s.Taps]), $"{label} fully pruned");
            Check(new Layer(rng, s, Enumerable.Repeat(1f, s.O * s.Taps).ToArray()), $"{label} fully dense");
        });
    }

    [Test]
    public void PaddingLargerThanTheKernelAllows_AndOtherKernelSizes_MatchReference()
    {
        // Padding of KH or more crops the bordered output gradient of the input gradient instead of padding it;
        // 1×1 and 1×3 kernels have no border on one side.
        var rng = new Random(3);
        ConvShape[] shapes =
        [
            new(2, 3, 4, 5, 2, 3, 3, 1, 1, 3, 4),
            new(1, 2, 6, 19, 3, 1, 1, 1, 1, 0, 0),
            new(2, 2, 5, 10, 3, 1, 3, 1, 1, 1, 1),
            new(1, 3, 8, 8, 2, 7, 7, 1, 1, 3, 3),
        ];
        AtEveryWidth(shapes, (s, label) => Check(new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.5)), label));
    }

    [Test]
    public void LargeLayer_AgreesWithDenseConvolution_Within1e5OfScale_WithBiasAndRelu()
    {
        // Large enough to run on several threads: the dense kernels on the masked weight (the path the engine
        // switches from) and the sparse ones must agree to float rounding.
        var rng = new Random(4);
        var s = new ConvShape(4, 16, 13, 21, 24, 3, 3, 1, 1, 1, 1);
        var l = new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.1, emptyRows: true));
        var masked = l.Masked;
        var y = new float[s.N * s.O * s.Positions];
        var yBiasRelu = new float[y.Length];
        var dx = new float[s.N * s.C * s.H * s.W];
        var dw = new float[s.O * s.Taps];
        Convolution.Forward(l.X, masked, s, y);
        Convolution.Forward(l.X, masked, l.Bias, s, yBiasRelu, relu: true);
        Convolution.InputGrad(l.Dy, masked, s, dx);
        Convolution.WeightGrad(l.X, l.Dy, s, dw);
        for (int j = 0; j < dw.Length; j++)
        {
            dw[j] *= l.Mask[j];
        }

        var (sy, sdx, _, sdw) = l.Run();
        AssertClose(sy, y, "y");
        AssertClose(l.Run(bias: true, relu: true).Y, yBiasRelu, "y with bias and ReLU");
        AssertClose(sdx, dx, "dx");
        AssertClose(sdw, dw, "dW");
    }

    [Test]
    public void Forward_EqualsAScalarFmaChainPlusBias_AtEveryWidth()
    {
        // Each output is one FMA chain over its channel's kept taps in entry order, then the bias, whatever the width.
        var rng = new Random(5);
        var s = new ConvShape(2, 5, 7, 23, 6, 3, 3, 1, 1, 1, 2);
        var l = new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.3));
        var expected = new float[s.N * s.O * s.Positions];
        var starts = l.Rows.RowStarts;
        var columns = l.Rows.ColumnIndices;
        var values = l.Rows.Values;
        int kk = s.KH * s.KW;
        for (int n = 0; n < s.N; n++)
        {
            for (int o = 0; o < s.O; o++)
            {
                for (int p = 0; p < s.Positions; p++)
                {
                    int i = p / s.OW, j = p % s.OW;
                    float sum = 0f;
                    for (int e = starts[o]; e < starts[o + 1]; e++)
                    {
                        int c = columns[e] / kk, yy = i + (columns[e] % kk / s.KW) - s.PH, xx = j + (columns[e] % s.KW) - s.PW;
                        float v = yy < 0 || yy >= s.H || xx < 0 || xx >= s.W ? 0f : l.X[(((n * s.C) + c) * s.H * s.W) + (yy * s.W) + xx];
                        sum = MathF.FusedMultiplyAdd(values[e], v, sum);
                    }

                    expected[(((n * s.O) + o) * s.Positions) + p] = Math.Max(sum + l.Bias[o], 0f);
                }
            }
        }

        AtEveryWidth(() => Assert.That(l.Run(bias: true, relu: true).Y, Is.EqualTo(expected), $"width {SparseConvolution.ForcedWidth}"));
    }

    [Test]
    public void ThroughARelu_GradientsEqualTheUnmaskedKernelsOnTheMaskedDy_AndTheBiasGradientSumsIt_AtEveryWidth()
    {
        // The kernels that read the ReLU's output beside dy must give the bits of the plain kernels on dy masked first
        // (as WherePositive masks it), and the bias gradient they sum must be the masked dy's sum per channel; also
        // for a fully pruned weight (no taps, the bias still learns) and without a mask; and the bias gradient alone (a
        // frozen weight) must have the same bits.
        var rng = new Random(21);
        var shapes = RandomShapes(rng, 10);
        shapes.Add(new ConvShape(3, 8, 16, 16, 16, 3, 3, 1, 1, 1, 1));
        AtEveryWidth(shapes, (s, label) =>
        {
            foreach (double density in new[] { 0.3, 0.0 })
            {
                var l = new Layer(rng, s, RandomMask(rng, s.O, s.Taps, density));
                var relu = Reference.Random(rng, l.Dy.Length);
                var masked = new float[l.Dy.Length];
                Elementwise.WherePositive(l.Dy, relu, masked);

                var expectedDx = new float[s.N * s.C * s.H * s.W];
                SparseConvolution.InputGrad(l.Transposed, masked, s, expectedDx);
                var dx = Enumerable.Repeat(float.NaN, expectedDx.Length).ToArray();
                SparseConvolution.InputGrad(l.Transposed, l.Dy, relu, s, dx);
                Assert.That(dx, Is.EqualTo(expectedDx), $"{label} density {density}: dx");

                var expectedValues = new float[l.Rows.Count];
                var expectedDense = new float[s.O * s.Taps];
                SparseConvolution.WeightGrad(l.Rows, l.X, masked, s, expectedValues, expectedDense);
                foreach (bool withMask in new[] { true, false })
                {
                    var values = Enumerable.Repeat(float.NaN, l.Rows.Count).ToArray();
                    var dense = Enumerable.Repeat(float.NaN, s.O * s.Taps).ToArray();
                    var biasGrad = Enumerable.Repeat(float.NaN, s.O).ToArray();
                    var dy = withMask ? l.Dy : masked;
                    SparseConvolution.WeightGrad(l.Rows, l.X, dy, withMask ? relu : [], s, values, dense, biasGrad);
                    Assert.That(values, Is.EqualTo(expectedValues), $"{label} density {density} mask {withMask}: dW values");
                    Assert.That(dense, Is.EqualTo(expectedDense), $"{label} density {density} mask {withMask}: dense dW");
                    var alone = Enumerable.Repeat(float.NaN, s.O).ToArray();
                    SparseConvolution.BiasGrad(dy, withMask ? relu : [], s, alone);
                    Assert.That(alone, Is.EqualTo(biasGrad), $"{label} density {density} mask {withMask}: bias grad alone");
                    for (int o = 0; o < s.O; o++)
                    {
                        double sum = 0, magnitude = 0;
                        for (int n = 0; n < s.N; n++)
                        {
                            for (int p = 0; p < s.Positions; p++)
                            {
                                double term = masked[(((n * s.O) + o) * s.Positions) + p];
                                sum += term;
                                magnitude += Math.Abs(term);
                            }
                        }

                        Near(biasGrad[o], sum, magnitude, s.N * s.Positions, $"{label} density {density} mask {withMask}: bias grad [{o}]");
                    }
                }
            }
        });
    }

    [Test]
    public void TwoRuns_GiveIdenticalBits()
    {
        var rng = new Random(6);
        var s = new ConvShape(12, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1);
        var l = new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.1));
        var first = l.Run(bias: true);
        for (int run = 0; run < 3; run++)
        {
            var again = l.Run(bias: true);
            Assert.That(again.Y, Is.EqualTo(first.Y));
            Assert.That(again.Dx, Is.EqualTo(first.Dx));
            Assert.That(again.DwValues, Is.EqualTo(first.DwValues));
            Assert.That(again.Dw, Is.EqualTo(first.Dw));
        }
    }

    [Test]
    public void Supports_StrideOneOnly()
    {
        Assert.That(SparseConvolution.Supports(new ConvShape(60, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.True);
        Assert.That(SparseConvolution.Supports(new ConvShape(1, 3, 5, 5, 2, 5, 3, 1, 1, 0, 2)), Is.True);
        Assert.That(SparseConvolution.Supports(new ConvShape(128, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1)), Is.False);
        Assert.That(SparseConvolution.Supports(new ConvShape(1, 3, 2, 2, 2, 5, 5, 1, 1, 0, 0)), Is.False);
    }

    [Test]
    public void ArgumentErrors_NameTheValues()
    {
        var s = new ConvShape(2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1);
        var rng = new Random(7);
        var l = new Layer(rng, s, RandomMask(rng, s.O, s.Taps, 0.5));
        var y = new float[s.N * s.O * s.Positions];
        var dx = new float[s.N * s.C * s.H * s.W];
        var values = new float[l.Rows.Count];

        var strided = s with { SH = 2, SW = 2 };
        Assert.That(() => SparseConvolution.Forward(l.Rows, l.X, [], strided, y), Throws.ArgumentException.With.Message.Contains("stride (2,2)"));
        Assert.That(() => SparseConvolution.Forward(l.Rows, l.X.AsSpan(1), [], s, y), Throws.ArgumentException.With.Message.Contains("x has 179 elements, expected at least 180"));
        Assert.That(() => SparseConvolution.Forward(l.Rows, l.X, [], s, y.AsSpan(3)), Throws.ArgumentException.With.Message.Contains("y has 237 elements, expected at least 240"));
        Assert.That(() => SparseConvolution.Forward(l.Rows, l.X, new float[3], s, y), Throws.ArgumentException.With.Message.Contains("bias has 3 elements, expected 4"));
        Assert.That(() => SparseConvolution.Forward(l.Transposed, l.X, [], s, y), Throws.ArgumentException.With.Message.Contains("weight is [27,4], expected [4,27]"));
        var shared = new float[300];
        Assert.That(() => SparseConvolution.Forward(l.Rows, shared.AsSpan(0, 180), [], s, shared.AsSpan(50)), Throws.ArgumentException.With.Message.Contains("y overlaps x"));
        Assert.That(() => SparseConvolution.InputGrad(l.Rows, l.Dy, s, dx), Throws.ArgumentException.With.Message.Contains("transposed weight is [4,27], expected [27,4]"));
        Assert.That(() => SparseConvolution.InputGrad(l.Transposed, l.Dy.AsSpan(2), s, dx), Throws.ArgumentException.With.Message.Contains("dy has 238 elements, expected at least 240"));
        Assert.That(() => SparseConvolution.WeightGrad(l.Rows, l.X, l.Dy, s, values.AsSpan(1), []), Throws.ArgumentException.With.Message.Contains($"values has {values.Length - 1} elements for {values.Length} kept weights"));
        Assert.That(() => SparseConvolution.WeightGrad(l.Rows, l.X, l.Dy, s, values, new float[5]), Throws.ArgumentException.With.Message.Contains("dense has 5 elements, expected 108"));
        Assert.That(() => SparseConvolution.WeightGrad(l.Rows, l.X, l.Dy, s, l.X.AsSpan(0, values.Length), []), Throws.ArgumentException.With.Message.Contains("overlaps"));
        Assert.That(() => SparseConvolution.Forward(l.Rows, l.X, [], new ConvShape(1, 3, 2, 2, 4, 5, 5, 1, 1, 0, 0), y), Throws.ArgumentException.With.Message.Contains("invalid shape"));
    }
}
