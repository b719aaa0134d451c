using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class SgemmTests
{
    private static readonly (bool TransA, bool TransB)[] Layouts = [(false, false), (false, true), (true, false), (true, true)];

    /// <summary>
    /// Runs Sgemm and the double-precision reference on fresh random data and compares them.
    /// The tolerance is the float32 error bound of a k-term sum, (k+2)·u·Σ|a·b|, plus a tiny
    /// relative term: tight enough that one wrong or missing product fails it.
    /// </summary>
    private static void Check(Random rng, bool transA, bool transB, int m, int n, int k, int padA = 0, int padB = 0, int padC = 0, bool accumulate = false)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = Math.Max(aCols, 1) + padA, ldb = Math.Max(bCols, 1) + padB, ldc = Math.Max(n, 1) + padC;
        float[] a = Reference.Random(rng, Math.Max(aRows * lda, 0));
        float[] b = Reference.Random(rng, Math.Max(bRows * ldb, 0));
        float[] c = Reference.Random(rng, m * ldc);
        float[] expected = (float[])c.Clone();
        double[] magnitude = Reference.GemmMagnitude(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        Reference.Gemm(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);

        Sgemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                int at = (i * ldc) + j;
                if (j >= n)
                {
                    // Padding columns of C must be left untouched.
                    Assert.That(c[at], Is.EqualTo(expected[at]), $"padding of C written at [{i},{j}]");
                    continue;
                }

                double tolerance = ((k + 2) * 1.2e-7 * magnitude[(i * n) + j]) + (1e-6 * Math.Abs(expected[at])) + 1e-30;
                if (Math.Abs(c[at] - expected[at]) > tolerance)
                {
                    Assert.Fail($"transA={transA} transB={transB} m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc} accumulate={accumulate}: " +
                        $"C[{i},{j}] = {c[at]}, expected {expected[at]} (tolerance {tolerance:g3})");
                }
            }
        }
    }

    [Test]
    public void EverySize1To70_InEachDimension_AllLayouts()
    {
        var rng = new Random(1);
        int checks = 0;
        foreach (var (ta, tb) in Layouts)
        {
            for (int s = 1; s <= 70; s++)
            {
                Check(rng, ta, tb, s, 37, 19, accumulate: s % 2 == 0);
                Check(rng, ta, tb, 23, s, 29, padA: s % 3, accumulate: s % 3 == 0);
                Check(rng, ta, tb, 17, 41, s, padB: s % 5, padC: s % 4, accumulate: s % 2 == 1);
                checks += 3;
            }
        }

        Assert.That(checks, Is.EqualTo(4 * 70 * 3));
    }

    [Test]
    public void OddAndDegenerateShapes_AllLayouts()
    {
        var rng = new Random(2);
        foreach (var (ta, tb) in Layouts)
        {
            foreach (bool acc in new[] { false, true })
            {
                Check(rng, ta, tb, 1, 1, 1, accumulate: acc);
                Check(rng, ta, tb, 7, 5, 1, accumulate: acc);       // k = 1
                Check(rng, ta, tb, 3, 90, 200, accumulate: acc);     // m < k, wide
                Check(rng, ta, tb, 131, 1, 17, accumulate: acc);     // single column
                Check(rng, ta, tb, 1, 131, 17, accumulate: acc);     // single row
                Check(rng, ta, tb, 13, 33, 11, padA: 5, padB: 7, padC: 3, accumulate: acc);
            }
        }
    }

    [Test]
    public void BlockedAndParallelShapes_AllLayouts()
    {
        var rng = new Random(3);
        foreach (var (ta, tb) in Layouts)
        {
            Check(rng, ta, tb, 300, 517, 260, padA: 1, padB: 2, padC: 3, accumulate: ta);
            Check(rng, ta, tb, 37, 45, 3 * Sgemm.KC + 5, accumulate: !tb); // several k blocks
        }

        // More rows than one A block and more columns than one B panel.
        Check(rng, false, false, Sgemm.MC + 13, Sgemm.NC + 45, 21);
        Check(rng, true, true, Sgemm.MC + 13, Sgemm.NC + 45, 21, accumulate: true);
    }

    [Test]
    public void LeNetShapes()
    {
        var rng = new Random(4);
        Check(rng, false, false, 60, 300, 784);
        Check(rng, false, true, 60, 300, 784);
        Check(rng, false, false, 60, 100, 300);
        Check(rng, false, false, 60, 10, 100);
        Check(rng, true, false, 300, 784, 60);
        Check(rng, false, false, 60, 784, 300);
        Check(rng, false, true, 60, 784, 300);
    }

    [Test]
    public void NarrowerSimdFallbacks_MatchReference()
    {
        var rng = new Random(5);
        try
        {
            foreach (int width in new[] { 8, 4, 1 })
            {
                Sgemm.ForcedWidth = width;
                foreach (var (ta, tb) in Layouts)
                {
                    Check(rng, ta, tb, 13, 45, 21, accumulate: tb);
                    Check(rng, ta, tb, 67, 70, 65, padC: 2, accumulate: ta);
                }
            }
        }
        finally
        {
            Sgemm.ForcedWidth = 0;
        }
    }

    [Test]
    public void EveryWidth_GivesTheSameBits()
    {
        // Each element accumulates p = 0 … k−1 in order with one FMA per step at every width, so the
        // AVX-512, AVX2, SSE and scalar kernels agree exactly (k = 300 also crosses a KC block).
        var rng = new Random(6);
        int m = 67, n = 70, k = 300;
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] Run(int width)
        {
            var c = Enumerable.Range(0, m * n).Select(i => (float)i / 100).ToArray();
            Sgemm.ForcedWidth = width;
            try
            {
                Sgemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate: true);
            }
            finally
            {
                Sgemm.ForcedWidth = 0;
            }

            return c;
        }

        var widest = Run(0);
        foreach (int width in new[] { 8, 4, 1 })
        {
            Assert.That(Run(width), Is.EqualTo(widest), $"width {width}");
        }
    }

    [Test]
    public void EmptyShapes()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Sgemm.Multiply(false, false, 0, 3, 4, [], 4, new float[12], 3, [], 3, false);
        Sgemm.Multiply(false, false, 2, 0, 4, new float[8], 4, [], 1, c, 3, false);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }), "n = 0 writes nothing");

        Sgemm.Multiply(false, false, 2, 3, 0, [], 1, [], 3, c, 3, true);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }), "k = 0 accumulating adds nothing");

        var padded = new float[] { 1, 2, 9, 4, 5 };
        Sgemm.Multiply(true, true, 2, 2, 0, [], 2, [], 1, padded, 3, false);
        Assert.That(padded, Is.EqualTo(new float[] { 0, 0, 9, 0, 0 }), "k = 0 overwriting zeroes C but not its padding");
    }

    [Test]
    public void BigShape_IsBitIdenticalAcrossCallsAndPartitions()
    {
        const int m = 300, n = 517, k = 700;
        var rng = new Random(6);
        float[] a = Reference.Random(rng, m * k), b = Reference.Random(rng, k * n);
        float[] first = new float[m * n], second = new float[m * n];
        Sgemm.Multiply(false, false, m, n, k, a, k, b, n, first, n, false);
        Sgemm.Multiply(false, false, m, n, k, a, k, b, n, second, n, false);
        Assert.That(second, Is.EqualTo(first).AsCollection, "two calls of the same shape differ");

        // A strip of rows and a strip of columns computed by separate (smaller, so possibly
        // single-threaded and differently partitioned) calls must match the full product bit for bit.
        var rows = new float[5 * n];
        Sgemm.Multiply(false, false, 5, n, k, a.AsSpan(101 * k), k, b, n, rows, n, false);
        Assert.That(rows, Is.EqualTo(first.AsSpan(101 * n, 5 * n).ToArray()).AsCollection, "row strip differs");

        var cols = new float[m * 3];
        Sgemm.Multiply(false, false, m, 3, k, a, k, b.AsSpan(250), n, cols, 3, false);
        for (int i = 0; i < m; i++)
        {
            Assert.That(cols.AsSpan(i * 3, 3).ToArray(), Is.EqualTo(first.AsSpan((i * n) + 250, 3).ToArray()).AsCollection, $"column strip differs in row {i}");
        }
    }

    [Test]
    public void InvalidArguments_ThrowWithTheValues()
    {
        var a = new float[100];
        var b = new float[120];
        var c = new float[120];
        var e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 10, 10, 12, a, 12, b, 10, c, 10, false));
        Assert.That(e!.Message, Does.Contain("a has 100 elements, expected at least 120 for [10,12] lda=12"));

        e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, true, 10, 10, 10, b, 10, b, 9, c, 10, false));
        Assert.That(e!.Message, Does.Contain("ldb=9"));

        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, -1, 2, 2, a, 2, b, 2, c, 2, false));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 20, 2, a, 2, b, 20, new float[30], 20, false));

        var shared = new float[400];
        e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 10, 10, 10, shared.AsSpan(0, 100), 10, shared.AsSpan(100, 100), 10, shared.AsSpan(150, 100), 10, false));
        Assert.That(e!.Message, Does.Contain("overlaps"));
    }
}
