using System.Runtime.CompilerServices;
using SparseNet.Kernels.Cpu;
using static SparseNet.Tests.Kernels.SparseKernelChecks;

namespace SparseNet.Tests.Kernels;

public class SparseLinearTests
{
    private static readonly int[] Batches = [1, 3, 17, 60, 257];

    /// <summary>The layer of one case: the masked weight, its CSR form and transpose, and fresh inputs.</summary>
    private sealed class Layer
    {
        public Layer(Random rng, int batch, int inputs, int outputs, float[] mask)
        {
            (Batch, In, Out, Mask) = (batch, inputs, outputs, mask);
            Weight = Reference.Random(rng, outputs * inputs);
            X = Reference.Random(rng, batch * inputs);
            Dy = Reference.Random(rng, batch * outputs);
            Rows = SparseRows.FromMask(mask, outputs, inputs);
            Rows.LoadValues(Weight);
            Transposed = Rows.Transpose();
        }

        public int Batch { get; }

        public int In { get; }

        public int Out { get; }

        public float[] Mask { get; }

        public float[] Weight { get; }

        public float[] X { get; }

        public float[] Dy { get; }

        public SparseRows Rows { get; }

        public SparseRows Transposed { get; }

        public int Padded => SparseLinear.PaddedBatch(Batch);

        /// <summary>Forward then backward through the public one-call entry points.</summary>
        public (float[] Y, float[] Dx, float[] DwValues, float[] Dw) Run()
        {
            var xT = new float[SparseLinear.WorkspaceLength(In, Batch)];
            var y = new float[Batch * Out];
            var dx = new float[Batch * In];
            var dwValues = new float[Rows.Count];
            var dw = Enumerable.Repeat(float.NaN, Out * In).ToArray();
            SparseLinear.Forward(Rows, X, Batch, xT, y);
            SparseLinear.Backward(Rows, Transposed, xT, Dy, Batch, dx, dwValues, dw);
            return (y, dx, dwValues, dw);
        }
    }

    /// <summary>
    /// Compares one case with the double-precision reference. The tolerance is the float32 error bound of an n-term
    /// sum, (n+2)·u·Σ|terms|, plus a tiny relative term: one wrong or missing product fails it.
    /// </summary>
    private static void Check(Layer l, string label)
    {
        var (y, dx, dwValues, dw) = l.Run();
        for (int b = 0; b < l.Batch; b++)
        {
            for (int o = 0; o < l.Out; o++)
            {
                double sum = 0, magnitude = 0;
                for (int i = 0; i < l.In; i++)
                {
                    double term = (double)l.Mask[(o * l.In) + i] * l.Weight[(o * l.In) + i] * l.X[(b * l.In) + i];
                    sum += term;
                    magnitude += Math.Abs(term);
                }

                Near(y[(b * l.Out) + o], sum, magnitude, l.In, $"{label}: y[{b},{o}]");
            }

            for (int i = 0; i < l.In; i++)
            {
                double sum = 0, magnitude = 0;
                for (int o = 0; o < l.Out; o++)
                {
                    double term = (double)l.Mask[(o * l.In) + i] * l.Weight[(o * l.In) + i] * l.Dy[(b * l.Out) + o];
                    sum += term;
                    magnitude += Math.Abs(term);
                }

                Near(dx[(b * l.In) + i], sum, magnitude, l.Out, $"{label}: dx[{b},{i}]");
            }
        }

        for (int o = 0; o < l.Out; o++)
        {
            for (int i = 0; i < l.In; i++)
            {
                if (l.Mask[(o * l.In) + i] == 0f)
                {
                    continue;
                }

                double sum = 0, magnitude = 0;
                for (int b = 0; b < l.Batch; b++)
                {
                    double term = (double)l.Dy[(b * l.Out) + o] * l.X[(b * l.In) + i];
                    sum += term;
                    magnitude += Math.Abs(term);
                }

                Near(dw[(o * l.In) + i], sum, magnitude, l.Batch, $"{label}: dW[{o},{i}]");
            }
        }

        CheckEntriesAndPruned(l.Rows, l.Mask, dwValues, dw, label);
    }

    private static void AtEveryWidth(Action body) => SparseKernelChecks.AtEveryWidth(width => SparseLinear.ForcedWidth = width, body);

    /// <summary>Where element (feature, b) of a transposed operand lies: the tile-major layout of the SparseLinear remarks.</summary>
    private static int At(float[] operand, int features, int batch, int feature, int b)
    {
        int tile = SparseLinear.TileWidth(batch);
        return SparseLinear.Origin(operand, features, batch) + (b / tile * features * tile) + (feature * tile) + (b % tile);
    }

    [Test]
    public void RandomShapesAndMasks_MatchReference_AtEveryWidth()
    {
        var rng = new Random(1);
        (int In, int Out)[] shapes = [(1, 1), (7, 5), (33, 17), (64, 48), (101, 37)];
        AtEveryWidth(() =>
        {
            foreach (int batch in Batches)
            {
                foreach (var (inputs, outputs) in shapes)
                {
                    foreach (double density in new[] { 0.03, 0.1, 0.5 })
                    {
                        var mask = RandomMask(rng, outputs, inputs, density);
                        Check(new Layer(rng, batch, inputs, outputs, mask), $"width {SparseLinear.SelectWidth()} batch {batch} {inputs}->{outputs} density {density}");
                    }
                }
            }
        });
    }

    [Test]
    public void EmptyRowsAndColumns_FullyPrunedAndFullyDense_MatchReference()
    {
        var rng = new Random(2);
        foreach (int batch in Batches)
        {
            foreach (var (inputs, outputs) in new[] { (45, 35), (16, 32), (3, 70) })
            {
                Check(new Layer(rng, batch, inputs, outputs, RandomMask(rng, outputs, inputs, 0.3, emptyRows: true)), $"batch {batch} {inputs}->{outputs} empty rows");
                Check(new Layer(rng, batch, inputs, outputs, RandomMask(rng, outputs, inputs, 0.3, emptyColumns: true)), $"batch {batch} {inputs}->{outputs} empty columns");
                Check(new Layer(rng, batch, inputs, outputs, new float[outputs * inputs]), $"batch {batch} {inputs}->{outputs} fully pruned");
                Check(new Layer(rng, batch, inputs, outputs, Enumerable.Repeat(1f, outputs * inputs).ToArray()), $"batch {batch} {inputs}->{outputs} fully dense");
            }
        }
    }

    [Test]
    public void LargeLayer_AgreesWithDenseSgemm_Within1e5OfScale()
    {
        // A layer big enough to run on several threads and across several batch tiles, against the dense SGEMM
        // path on the masked weight: the two paths the engine chooses between must agree to float rounding.
        var rng = new Random(3);
        int batch = 300, inputs = 190, outputs = 260;
        var l = new Layer(rng, batch, inputs, outputs, RandomMask(rng, outputs, inputs, 0.1));
        var masked = l.Weight.Zip(l.Mask, (w, m) => w * m).ToArray();
        var y = new float[batch * outputs];
        var dx = new float[batch * inputs];
        var dw = new float[outputs * inputs];
        Sgemm.Multiply(false, true, batch, outputs, inputs, l.X, inputs, masked, inputs, y, outputs, accumulate: false);
        Sgemm.Multiply(false, false, batch, inputs, outputs, l.Dy, outputs, masked, inputs, dx, inputs, accumulate: false);
        Sgemm.Multiply(true, false, outputs, inputs, batch, l.Dy, outputs, l.X, inputs, dw, inputs, accumulate: false);
        for (int j = 0; j < dw.Length; j++)
        {
            dw[j] *= l.Mask[j];
        }

        var (sy, sdx, _, sdw) = l.Run();
        AssertClose(sy, y, "y");
        AssertClose(sdx, dx, "dx");
        AssertClose(sdw, dw, "dW");
        Check(l, "large layer");
    }

    [Test]
    public void TwoRuns_GiveIdenticalBits()
    {
        var rng = new Random(4);
        var l = new Layer(rng, 512, 300, 200, RandomMask(rng, 200, 300, 0.05));
        Check(l, "batch 512");
        var first = l.Run();
        for (int run = 0; run < 3; run++)
        {
            var again = l.Run();
            Assert.That(again.Y, Is.EqualTo(first.Y));
            Assert.That(again.Dx, Is.EqualTo(first.Dx));
            Assert.That(again.DwValues, Is.EqualTo(first.DwValues));
            Assert.That(again.Dw, Is.EqualTo(first.Dw));
        }
    }

    [Test]
    public void Products_EqualAScalarFmaChain_AtEveryWidth()
    {
        // Each output of the SpMM is one FMA chain over its row's entries in column order, whatever the width or
        // thread, so it equals this loop bit for bit.
        var rng = new Random(5);
        var l = new Layer(rng, 77, 150, 90, RandomMask(rng, 90, 150, 0.2));
        var expected = new float[l.Batch * l.Out];
        var starts = l.Rows.RowStarts;
        var columns = l.Rows.ColumnIndices;
        var values = l.Rows.Values;
        for (int b = 0; b < l.Batch; b++)
        {
            for (int o = 0; o < l.Out; o++)
            {
                float sum = 0f;
                for (int e = starts[o]; e < starts[o + 1]; e++)
                {
                    sum = MathF.FusedMultiplyAdd(values[e], l.X[(b * l.In) + columns[e]], sum);
                }

                expected[(b * l.Out) + o] = sum;
            }
        }

        AtEveryWidth(() => Assert.That(l.Run().Y, Is.EqualTo(expected), $"width {SparseLinear.SelectWidth()}"));
    }

    [Test]
    public void MultiplyTransposed_WritesTheTransposeOfMultiply()
    {
        var rng = new Random(6);
        AtEveryWidth(() =>
        {
            foreach (int batch in Batches)
            {
                var l = new Layer(rng, batch, 40, 35, RandomMask(rng, 35, 40, 0.3));
                var xT = new float[SparseLinear.WorkspaceLength(l.In, batch)];
                SparseLinear.Transpose(l.X, batch, l.In, xT);
                var y = new float[batch * l.Out];
                var yT = new float[SparseLinear.WorkspaceLength(l.Out, batch)];
                SparseLinear.Multiply(l.Rows, xT, batch, y);
                SparseLinear.MultiplyTransposed(l.Rows, xT, batch, yT);
                for (int o = 0; o < l.Out; o++)
                {
                    for (int b = 0; b < l.Padded; b++)
                    {
                        float expected = b < batch ? y[(b * l.Out) + o] : 0f;
                        Assert.That(yT[At(yT, l.Out, batch, o, b)], Is.EqualTo(expected), $"batch {batch}: yT[{o},{b}]");
                    }
                }
            }
        });
    }

    [Test]
    public void Backward_EqualsMultiplyAndSampledProduct_BitForBit_AtEveryWidth()
    {
        // The fused backward pass must give dx exactly as the SpMM with W's transpose and dW exactly as the SDDMM (which
        // a first layer, with no dx, runs alone): the same layer gives the same gradient whichever path computes it.
        var rng = new Random(10);
        AtEveryWidth(() =>
        {
            foreach (int batch in new[] { 1, 17, 33, 60, 100, 257 })
            {
                var l = new Layer(rng, batch, 70, 45, RandomMask(rng, 45, 70, 0.2));
                var (_, dx, dwValues, dw) = l.Run();
                var xT = new float[SparseLinear.WorkspaceLength(l.In, batch)];
                var dyT = new float[SparseLinear.WorkspaceLength(l.Out, batch)];
                SparseLinear.Transpose(l.X, batch, l.In, xT);
                SparseLinear.Transpose(l.Dy, batch, l.Out, dyT);
                var expectedDx = new float[batch * l.In];
                SparseLinear.Multiply(l.Transposed, dyT, batch, expectedDx);
                var expectedValues = new float[l.Rows.Count];
                var expectedDense = new float[l.Out * l.In];
                SparseLinear.SampledProduct(l.Rows, dyT, xT, batch, expectedValues, expectedDense);
                string label = $"width {SparseLinear.SelectWidth()} batch {batch}";
                Assert.That(dx, Is.EqualTo(expectedDx), $"{label}: dx");
                Assert.That(dwValues, Is.EqualTo(expectedValues), $"{label}: dW values");
                Assert.That(dw, Is.EqualTo(expectedDense), $"{label}: dense dW");

                var firstLayerValues = new float[l.Rows.Count];
                SparseLinear.Backward(l.Rows, l.Transposed, xT, l.Dy, batch, default, firstLayerValues, default);
                Assert.That(firstLayerValues, Is.EqualTo(expectedValues), $"{label}: dW values without dx");
            }
        });
    }

    [Test]
    public void Permutations_AboveThePrefetchThreshold_MoveEveryValueToItsSlot()
    {
        // From PermutePrefetchFrom entries on, the transpose's value refresh and dW's return to W's order ask for
        // lines ahead in their own loops: the values must still land where the plain paths put them, in both the
        // one-half and the two-half backward pass.
        var rng = new Random(15);
        int inputs = 400, outputs = 300;
        foreach (int batch in new[] { 8, 130 })
        {
            var l = new Layer(rng, batch, inputs, outputs, RandomMask(rng, outputs, inputs, 0.6));
            Assert.That(l.Rows.Count, Is.GreaterThanOrEqualTo(SparseRows.PermutePrefetchFrom), "the layer is past the threshold");

            var weight = Reference.Random(rng, outputs * inputs);
            l.Rows.LoadValues(weight);
            l.Transposed.LoadValuesFrom(l.Rows);
            var expectedTransposed = new float[l.Rows.Count];
            int[] starts = l.Transposed.RowStarts.ToArray(), columns = l.Transposed.ColumnIndices.ToArray();
            for (int i = 0; i < inputs; i++)
            {
                for (int e = starts[i]; e < starts[i + 1]; e++)
                {
                    expectedTransposed[e] = weight[(columns[e] * inputs) + i];
                }
            }

            Assert.That(l.Transposed.Values.ToArray(), Is.EqualTo(expectedTransposed), $"batch {batch}: the transpose's values");

            var (_, _, dwValues, _) = l.Run();
            var xT = new float[SparseLinear.WorkspaceLength(inputs, batch)];
            var dyT = new float[SparseLinear.WorkspaceLength(outputs, batch)];
            SparseLinear.Transpose(l.X, batch, inputs, xT);
            SparseLinear.Transpose(l.Dy, batch, outputs, dyT);
            var expectedValues = new float[l.Rows.Count];
            SparseLinear.SampledProduct(l.Rows, dyT, xT, batch, expectedValues, default);
            Assert.That(dwValues, Is.EqualTo(expectedValues), $"batch {batch}: dW values in W's order");
        }
    }

    [Test]
    public void Backward_BatchOf128OrMore_SumsEachHalfApartThenAddsThem_AtEveryWidth()
    {
        // From a padded batch of 128 on, each dW value is the first half's sum plus the second half's, whatever the
        // number of threads: the reference sums each half alone (the split raised out of reach) and adds them.
        var rng = new Random(14);
        AtEveryWidth(() =>
        {
            foreach (var (batch, middle) in new[] { (300, 192), (128, 64), (2048, 1024), (129, 128) })
            {
                var l = new Layer(rng, batch, 50, 70, RandomMask(rng, 70, 50, 0.2));
                var (_, _, dwValues, _) = l.Run();
                float[] first, second;
                int saved = SparseLinear.HalvesFrom;
                SparseLinear.HalvesFrom = int.MaxValue;
                try
                {
                    first = HalfSums(l, 0, middle);
                    second = HalfSums(l, middle, batch);
                }
                finally
                {
                    SparseLinear.HalvesFrom = saved;
                }

                var expected = first.Zip(second, (a, b) => a + b).ToArray();
                Assert.That(dwValues, Is.EqualTo(expected), $"width {SparseLinear.SelectWidth()} batch {batch}: dW values");
            }
        });

        static float[] HalfSums(Layer l, int from, int to)
        {
            int rows = to - from;
            var xT = new float[SparseLinear.WorkspaceLength(l.In, rows)];
            var dyT = new float[SparseLinear.WorkspaceLength(l.Out, rows)];
            SparseLinear.Transpose(l.X.AsSpan(from * l.In, rows * l.In), rows, l.In, xT);
            SparseLinear.Transpose(l.Dy.AsSpan(from * l.Out, rows * l.Out), rows, l.Out, dyT);
            var values = new float[l.Rows.Count];
            SparseLinear.SampledProduct(l.Rows, dyT, xT, rows, values, default);
            return values;
        }
    }

    [Test]
    public void Layout_TileWidthsAndWorkspaceLengths()
    {
        Assert.That(new[] { 0, 1, 16, 17, 32, 33, 60, 64, 65, 2048 }.Select(SparseLinear.TileWidth), Is.EqualTo(new[] { 16, 16, 16, 32, 32, 64, 64, 64, 64, 64 }));
        Assert.That(new[] { 0, 1, 16, 17, 32, 33, 60, 64, 65, 2048 }.Select(SparseLinear.PaddedBatch), Is.EqualTo(new[] { 0, 16, 16, 32, 32, 64, 64, 64, 128, 2048 }));
        Assert.That(SparseLinear.WorkspaceLength(3072, 2048), Is.EqualTo((3072 * 2048) + 16));
        Assert.That(SparseLinear.WorkspaceLength(784, 60), Is.EqualTo((784 * 64) + 16));
        Assert.That(SparseLinear.WorkspaceLength(5, 0), Is.EqualTo(0));
    }

    [Test]
    public void Transpose_EveryShapeUpTo70_ZerosThePadding()
    {
        var rng = new Random(7);
        AtEveryWidth(() =>
        {
            for (int rows = 0; rows <= 70; rows++)
            {
                foreach (int columns in new[] { 1, 5, 16, 23, 40 })
                {
                    var source = Reference.Random(rng, rows * columns);
                    int length = SparseLinear.WorkspaceLength(columns, rows);
                    var target = Enumerable.Repeat(float.NaN, length + 5).ToArray();
                    SparseLinear.Transpose(source, rows, columns, target);
                    for (int c = 0; c < columns; c++)
                    {
                        for (int r = 0; r < SparseLinear.PaddedBatch(rows); r++)
                        {
                            float expected = r < rows ? source[(r * columns) + c] : 0f;
                            Assert.That(target[At(target, columns, rows, c, r)], Is.EqualTo(expected), $"[{rows},{columns}]: target[{c},{r}]");
                        }
                    }

                    Assert.That(target[length..].All(float.IsNaN), $"[{rows},{columns}]: wrote past the target");
                }
            }
        });
    }

    [Test]
    public void Transpose_LargeParallel_MatchesElementwise()
    {
        var rng = new Random(8);
        int rows = 333, columns = 517;
        var source = Reference.Random(rng, rows * columns);
        var target = new float[SparseLinear.WorkspaceLength(columns, rows)];
        SparseLinear.Transpose(source, rows, columns, target);
        for (int c = 0; c < columns; c++)
        {
            for (int r = 0; r < rows; r++)
            {
                if (target[At(target, columns, rows, c, r)] != source[(r * columns) + c])
                {
                    Assert.Fail($"target[{c},{r}] = {target[At(target, columns, rows, c, r)]}, expected {source[(r * columns) + c]}");
                }
            }
        }
    }

    [Test]
    public void SparseRows_StructureTransposeAndValues()
    {
        float[] mask =
        [
            0, 1, 0, 1,
            0, 0, 0, 0,
            1, 0, 0, 2,
        ];
        float[] dense = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var rows = SparseRows.FromMask(mask, 3, 4);
        Assert.That(rows.Count, Is.EqualTo(4));
        Assert.That(rows.Density, Is.EqualTo(4.0 / 12));
        Assert.That(rows.RowStarts.ToArray(), Is.EqualTo(new[] { 0, 2, 2, 4 }));
        Assert.That(rows.ColumnIndices.ToArray(), Is.EqualTo(new[] { 1, 3, 0, 3 }));
        Assert.That(rows.Values.ToArray(), Is.EqualTo(new float[4]));
        Assert.That(rows.SourceSlots.IsEmpty);

        rows.LoadValues(dense);
        Assert.That(rows.Values.ToArray(), Is.EqualTo(new float[] { 2, 4, 9, 12 }));

        var t = rows.Transpose();
        Assert.That((t.Rows, t.Columns, t.Count), Is.EqualTo((4, 3, 4)));
        Assert.That(t.RowStarts.ToArray(), Is.EqualTo(new[] { 0, 1, 2, 2, 4 }));
        Assert.That(t.ColumnIndices.ToArray(), Is.EqualTo(new[] { 2, 0, 0, 2 }));
        Assert.That(t.SourceSlots.ToArray(), Is.EqualTo(new[] { 2, 0, 1, 3 }));
        Assert.That(t.Values.ToArray(), Is.EqualTo(new float[] { 9, 2, 4, 12 }));

        // Refreshing without rebuilding: new dense values, then the transpose from the CSR values.
        rows.LoadValues(dense.Select(v => -v).ToArray());
        t.LoadValuesFrom(rows);
        Assert.That(t.Values.ToArray(), Is.EqualTo(new float[] { -9, -2, -4, -12 }));

        var back = Enumerable.Repeat(float.NaN, 12).ToArray();
        rows.Scatter(rows.Values, back);
        Assert.That(back, Is.EqualTo(new float[] { 0, -2, 0, -4, 0, 0, 0, 0, -9, 0, 0, -12 }));
    }

    [Test]
    public void SparseRows_WriteKeptAndScatterKept_OfLargeMatrices_GiveTheDenseForm([Values(0.01, 0.1)] double density)
    {
        // WriteKept streams a large matrix whole where most lines hold a kept position (10%) and writes the kept
        // positions alone otherwise (1%); ScatterKept splits a large matrix between threads. Either way the zero-elsewhere
        // matrix ends as the dense form, and adding twice doubles it.
        var rng = new Random(13);
        int r = 2050, c = 2047;
        var mask = new float[r * c];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = rng.NextDouble() < density ? 1 : 0;
        }

        var rows = SparseRows.FromMask(mask, r, c);
        var values = Reference.Random(rng, rows.Count);
        var expected = new float[r * c];
        rows.Scatter(values, expected);
        var written = new float[r * c];
        rows.WriteKept(values, written);
        Assert.That(written, Is.EqualTo(expected), "WriteKept");
        var added = new float[r * c];
        rows.ScatterKept(values, added, add: true);
        rows.ScatterKept(values, added, add: true);
        Assert.That(added, Is.EqualTo(expected.Select(v => v + v).ToArray()), "ScatterKept, added twice");
        Assert.That(() => rows.WriteKept(values, new float[5]), Throws.ArgumentException.With.Message.Contains("5 elements"));
    }

    [Test]
    public void SparseRows_ScatterOfALargeMatrix_WritesEveryPosition()
    {
        // Over 16 MiB the dense form is streamed from a row buffer; an odd row length puts the rows at every alignment.
        var rng = new Random(11);
        int r = 2100, c = 2001;
        var mask = new float[r * c];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = rng.NextDouble() < 0.01 || i % 2003 == 0 ? 1 : 0;
        }

        var rows = SparseRows.FromMask(mask, r, c);
        var values = Reference.Random(rng, rows.Count);
        for (int pass = 0; pass < 2; pass++)
        {
            var dense = Enumerable.Repeat(float.NaN, r * c).ToArray();
            rows.Scatter(values, dense);
            var starts = rows.RowStarts;
            var columns = rows.ColumnIndices;
            var expected = new float[r * c];
            for (int i = 0; i < r; i++)
            {
                for (int e = starts[i]; e < starts[i + 1]; e++)
                {
                    expected[(i * c) + columns[e]] = values[e];
                }
            }

            Assert.That(dense, Is.EqualTo(expected), $"pass {pass}");
            values = values.Select(v => -v).ToArray();
        }
    }

    [Test]
    public void SparseRows_Parts_AreWholeGroupsCoveringEveryRow()
    {
        var rng = new Random(9);
        foreach (var (r, c) in new[] { (0, 5), (1, 1), (15, 3), (16, 3), (17, 40), (1000, 30), (3072, 768) })
        {
            // Skewed rows (the first rows much denser) must still be cut by entries, not by rows.
            var mask = new float[r * c];
            for (int i = 0; i < r; i++)
            {
                for (int j = 0; j < c; j++)
                {
                    mask[(i * c) + j] = rng.NextDouble() < (i < r / 4 ? 0.9 : 0.05) ? 1 : 0;
                }
            }

            var rows = SparseRows.FromMask(mask, r, c);
            var parts = rows.PartStarts.ToArray();
            Assert.That(parts[0], Is.EqualTo(0));
            Assert.That(parts[^1], Is.EqualTo(r));
            Assert.That(rows.PartCount, Is.InRange(1, SparseRows.MaxParts));
            for (int p = 1; p < parts.Length - 1; p++)
            {
                Assert.That(parts[p] % SparseRows.RowGroup, Is.EqualTo(0), $"[{r},{c}] part {p} starts at {parts[p]}");
                Assert.That(parts[p], Is.GreaterThan(parts[p - 1]));
            }

            if (r >= 1000)
            {
                long cost(int p) => rows.RowStarts[parts[p + 1]] - rows.RowStarts[parts[p]] + (parts[p + 1] - parts[p]);
                long total = rows.Count + r, largest = Enumerable.Range(0, rows.PartCount).Max(p => cost(p));
                Assert.That(largest, Is.LessThan(2.0 * total / rows.PartCount), $"[{r},{c}]: parts are unbalanced");
            }
        }
    }

    [Test]
    public void InvalidArguments_ThrowWithTheValues()
    {
        var rows = SparseRows.FromMask(new float[] { 1, 0, 1, 1, 0, 1 }, 2, 3);
        Assert.That(() => SparseRows.FromMask(new float[5], 2, 3), Throws.ArgumentException.With.Message.Contains("5 elements").And.Message.Contains("[2,3]"));
        Assert.That(() => SparseRows.FromMask([], -1, 3), Throws.ArgumentException.With.Message.Contains("[-1,3]"));
        Assert.That(() => rows.LoadValues(new float[7]), Throws.ArgumentException.With.Message.Contains("7 elements").And.Message.Contains("[2,3]"));
        Assert.That(() => rows.Scatter(new float[3], new float[6]), Throws.ArgumentException.With.Message.Contains("3 values for 4 entries"));
        Assert.That(() => rows.LoadValuesFrom(rows), Throws.ArgumentException.With.Message.Contains("[2,3]").And.Message.Contains("0 source slots"));

        int batch = 5, padded = SparseLinear.PaddedBatch(batch);
        Assert.That(padded, Is.EqualTo(16));
        Assert.That(() => SparseLinear.Transpose(new float[15], 5, 3, new float[3 * 4]), Throws.ArgumentException.With.Message.Contains("target has 12 elements").And.Message.Contains("padded batch 16 (batch 5)"));
        Assert.That(() => SparseLinear.Transpose(new float[14], 5, 3, new float[(3 * 16) + 16]), Throws.ArgumentException.With.Message.Contains("14 elements").And.Message.Contains("[5,3]"));
        Assert.That(() => SparseLinear.Multiply(rows, new float[40], batch, new float[10]), Throws.ArgumentException.With.Message.Contains("xT has 40 elements").And.Message.Contains("expected at least 64"));
        Assert.That(() => SparseLinear.Multiply(rows, new float[64], batch, new float[9]), Throws.ArgumentException.With.Message.Contains("y has 9 elements").And.Message.Contains("[5,2]"));
        Assert.That(() => SparseLinear.Multiply(rows, new float[64], -2, new float[9]), Throws.ArgumentException.With.Message.Contains("-2"));
        Assert.That(() => SparseLinear.SampledProduct(rows, new float[48], new float[64], batch, new float[3], default), Throws.ArgumentException.With.Message.Contains("values has 3 elements for 4 entries"));
        Assert.That(() => SparseLinear.SampledProduct(rows, new float[48], new float[64], batch, new float[4], new float[5]), Throws.ArgumentException.With.Message.Contains("dense has 5 elements"));
        Assert.That(() => SparseLinear.Backward(rows, rows, new float[64], new float[10], batch, new float[15], new float[4], default), Throws.ArgumentException.With.Message.Contains("transposed weight [2,3]"));
        Assert.That(() => SparseLinear.Backward(rows, rows.Transpose(), new float[64], new float[10], batch, new float[14], new float[4], default), Throws.ArgumentException.With.Message.Contains("dx has 14 elements"));
        Assert.That(() => SparseLinear.WorkspaceLength(-1, 5), Throws.InstanceOf<ArgumentOutOfRangeException>());

        var shared = new float[100];
        Assert.That(() => SparseLinear.Multiply(rows, shared.AsSpan(0, 64), batch, shared.AsSpan(40, 10)), Throws.ArgumentException.With.Message.Contains("overlaps"));
        Assert.That(() => SparseLinear.Backward(rows, rows.Transpose(), shared.AsSpan(0, 64), new float[10], batch, shared.AsSpan(40, 15), new float[4], default), Throws.ArgumentException.With.Message.Contains("overlaps"));
    }

    [Test]
    public unsafe void TransposedOperands_StartOnACacheLine_AndStayReadableWhenMoved()
    {
        // The writer puts the layout on a 64-byte boundary wherever the span starts and records where; a reader takes the
        // origin from the record, so a copy at another alignment (as after the garbage collector moves the array) gives
        // the same products.
        var rng = new Random(11);
        int batch = 37, inputs = 29, outputs = 23, length = SparseLinear.WorkspaceLength(inputs, batch);
        var l = new Layer(rng, batch, inputs, outputs, RandomMask(rng, outputs, inputs, 0.4));
        var expected = new float[batch * outputs];
        var pinned = GC.AllocateArray<float>(length + 32, pinned: true);
        for (int shift = 0; shift < 16; shift++)
        {
            var xT = pinned.AsSpan(shift, length);
            SparseLinear.Transpose(l.X, batch, inputs, xT);
            int origin = SparseLinear.Origin(xT, inputs, batch);
            Assert.That((long)Unsafe.AsPointer(ref xT[origin]) % 64, Is.EqualTo(0L), $"shift {shift}: origin {origin}");
            var y = new float[batch * outputs];
            SparseLinear.Multiply(l.Rows, xT, batch, y);
            if (shift == 0)
            {
                y.CopyTo(expected);
            }

            Assert.That(y, Is.EqualTo(expected), $"shift {shift}");
            var moved = new float[length + 7];
            xT.CopyTo(moved.AsSpan(7));
            var yMoved = new float[batch * outputs];
            SparseLinear.Multiply(l.Rows, moved.AsSpan(7), batch, yMoved);
            Assert.That(yMoved, Is.EqualTo(expected), $"shift {shift}, moved");
        }

        var unwritten = Enumerable.Repeat(float.NaN, length).ToArray();
        Assert.That(
            () => SparseLinear.Multiply(l.Rows, unwritten, batch, new float[batch * outputs]),
            Throws.ArgumentException.With.Message.Contains("xT (29 features, batch 37) has origin marker NaN").And.Message.Contains("SparseLinear.Transpose"));
        unwritten[^1] = 16;
        Assert.That(() => SparseLinear.Origin(unwritten, inputs, batch), Throws.ArgumentException.With.Message.Contains("origin marker 16"));
    }

    [Test]
    public void GatherAndScatterKept_TouchOnlyTheKeptPositions()
    {
        float[] mask = [1, 0, 1, 0, 0, 1];                       // [2,3]: entries (0,0), (0,2), (1,2)
        var rows = SparseRows.FromMask(mask, 2, 3);
        var values = new float[rows.Count];
        rows.Gather([1, 2, 3, 4, 5, 6], values);
        Assert.That(values, Is.EqualTo(new float[] { 1, 3, 6 }));

        float[] dense = [9, 9, 9, 9, 9, 9];
        rows.ScatterKept([10, 20, 30], dense, add: false);
        Assert.That(dense, Is.EqualTo(new float[] { 10, 9, 20, 9, 9, 30 }));
        rows.ScatterKept([1, 2, 3], dense, add: true);
        Assert.That(dense, Is.EqualTo(new float[] { 11, 9, 22, 9, 9, 33 }));
        Assert.That(() => rows.Gather([1, 2, 3, 4, 5, 6], new float[2]), Throws.ArgumentException.With.Message.Contains("2 values for 3 entries"));
        Assert.That(() => rows.ScatterKept([1, 2], dense, add: false), Throws.ArgumentException.With.Message.Contains("2 values for 3 entries"));
    }
}
