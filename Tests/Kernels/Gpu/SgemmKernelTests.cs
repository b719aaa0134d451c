using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The tiled SGEMM against a naive double-precision product: every transpose combination, sizes the 128×128 blocks and
/// depth tiles of 8 do not divide, several blocks per dimension, leading dimensions wider than the matrices, batches
/// with strides, accumulation, masked B, empty problems, argument errors and determinism.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class SgemmKernelTests(string accelerator)
{
    private const float Sentinel = -7777f;

    private GemmKernelsUnderTest Kernels => new(TestAccelerators.Get(accelerator));

    [TestCase(1, 1, 1)]
    [TestCase(5, 7, 3)]
    [TestCase(37, 70, 65)]
    [TestCase(130, 3, 9)]
    [TestCase(2, 133, 17)]
    [TestCase(129, 131, 12)]
    public void Product_MatchesTheReference_ForEveryTransposeCombination(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
        {
            foreach (bool transB in new[] { false, true })
            {
                var p = new Problem(transA, transB, m, n, k, extraLd: 0, batch: 1, seed: (m * 31) + (n * 7) + k + (transA ? 1000 : 0) + (transB ? 2000 : 0));
                float[] got = Kernels.Run(p, accumulate: false);
                AssertClose(got, p.Reference(accumulate: false), k, $"transA={transA} transB={transB}");
            }
        }
    }

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void LeadingDimensionsWiderThanTheMatrices_LeaveTheGapsAlone(bool transA, bool transB)
    {
        var p = new Problem(transA, transB, 19, 23, 21, extraLd: 5, batch: 1, seed: 11);
        float[] got = Kernels.Run(p, accumulate: false);
        AssertClose(got, p.Reference(accumulate: false), 21, "ld > width");
        Assert.That(got.Where((_, i) => i % p.Ldc >= p.N), Is.All.EqualTo(Sentinel));
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(true, false)]
    public void Batch_UsesEachItemsStrides(bool transA, bool transB)
    {
        var p = new Problem(transA, transB, 9, 14, 10, extraLd: 2, batch: 3, seed: 5, extraStride: 7);
        float[] got = Kernels.Run(p, accumulate: false);
        AssertClose(got, p.Reference(accumulate: false), 10, "batch 3");
    }

    [Test]
    public void Batch_WithAStrideOfZero_RepeatsTheSameA()
    {
        var p = new Problem(false, true, 6, 5, 4, extraLd: 0, batch: 3, seed: 8, strideAOverride: 0);
        float[] got = Kernels.Run(p, accumulate: false);
        AssertClose(got, p.Reference(accumulate: false), 4, "strideA 0");
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void Accumulate_AddsToC(bool transA, bool transB)
    {
        var p = new Problem(transA, transB, 17, 33, 29, extraLd: 1, batch: 2, seed: 3, extraStride: 3);
        float[] got = Kernels.Run(p, accumulate: true);
        AssertClose(got, p.Reference(accumulate: true), 29, "accumulate");
    }

    [TestCase(false, 13, 29, 20)]
    [TestCase(true, 13, 29, 20)]
    [TestCase(true, 130, 4, 9)]
    public void MaskedB_EqualsTheProductWithTheMaskedWeights_AndLeavesBAlone(bool transB, int m, int n, int k)
    {
        var p = new Problem(false, transB, m, n, k, extraLd: 3, batch: 2, seed: 21, extraStride: 2);
        var random = new Random(99);
        float[] mask = p.B.Select(_ => random.NextDouble() < 0.4 ? 1f : 0f).ToArray();
        float[] masked = p.B.Zip(mask, (b, mk) => b * mk).ToArray();

        var k0 = TestAccelerators.Get(accelerator);
        using var bBuffer = k0.Accelerator.Allocate1D(p.B);
        using var maskBuffer = k0.Accelerator.Allocate1D(mask);
        float[] got = Kernels.Run(p, accumulate: false, bView: bBuffer.View, mask: maskBuffer.View);
        float[] expected = Kernels.Run(p with { B = masked }, accumulate: false);

        Assert.That(got, Is.EqualTo(expected), "masked product differs from the product with B ⊙ M");
        Assert.That(bBuffer.GetAsArray1D(), Is.EqualTo(p.B), "B was changed");
        AssertClose(got, (p with { B = masked }).Reference(accumulate: false), k, "masked");
    }

    [TestCase(0, 5, 3)]
    [TestCase(4, 0, 3)]
    public void EmptyOutput_LeavesCAlone(int m, int n, int k)
    {
        var p = new Problem(false, false, m, n, k, extraLd: 1, batch: 1, seed: 1);
        float[] got = Kernels.Run(p, accumulate: false);
        Assert.That(got, Is.All.EqualTo(Sentinel));
    }

    [Test]
    public void DepthZero_ZeroesC_OrLeavesItWhenAccumulating()
    {
        var p = new Problem(true, false, 3, 4, 0, extraLd: 1, batch: 2, seed: 1, extraStride: 1);
        float[] zeroed = Kernels.Run(p, accumulate: false);
        float[] kept = Kernels.Run(p, accumulate: true);
        Assert.That(zeroed.Where((_, i) => p.InsideC(i)), Is.All.EqualTo(0f));
        Assert.That(zeroed.Where((_, i) => !p.InsideC(i)), Is.All.EqualTo(Sentinel));
        Assert.That(kept, Is.EqualTo(p.C));
    }

    [Test]
    public void BatchZero_DoesNothing()
    {
        var k = TestAccelerators.Get(accelerator);
        using var c = k.Accelerator.Allocate1D(new[] { 1f, 2f });
        using var a = k.Accelerator.Allocate1D<float>(4);
        k.Sgemm(false, false, 1, 2, 2, a.View, 2, 0, a.View, 2, 0, c.View, 2, 2, 0, accumulate: false);
        Assert.That(c.GetAsArray1D(), Is.EqualTo(new[] { 1f, 2f }));
    }

    [Test]
    public void Repeated_GivesIdenticalBits()
    {
        var p = new Problem(true, false, 70, 45, 67, extraLd: 0, batch: 2, seed: 17);
        float[] first = Kernels.Run(p, accumulate: false);
        float[] second = Kernels.Run(p, accumulate: false);
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void InvalidArguments_AreRejectedWithTheirValues()
    {
        var k = TestAccelerators.Get(accelerator);
        using var ten = k.Accelerator.Allocate1D<float>(10);
        using var twelve = k.Accelerator.Allocate1D<float>(12);
        using var big = k.Accelerator.Allocate1D<float>(100);
        var a10 = ten.View;
        var a12 = twelve.View;
        var c = big.View;

        Assert.That(() => k.Sgemm(false, false, -1, 2, 2, a12, 2, 0, a12, 2, 0, c, 2, 0, 1, false),
            Throws.ArgumentException.With.Message.Contains("m=-1"));
        Assert.That(() => k.Sgemm(false, false, 3, 4, 4, a10, 4, 0, big.View.SubView(0, 16), 4, 0, big.View.SubView(50, 12), 4, 0, 1, false),
            Throws.ArgumentException.With.Message.Contains("a has 10 elements, expected at least 12"));
        Assert.That(() => k.Sgemm(false, false, 3, 4, 4, a12, 3, 0, a12, 4, 0, c, 4, 0, 1, false),
            Throws.ArgumentException.With.Message.Contains("ld 3 of a is smaller than its 4 columns"));
        Assert.That(() => k.Sgemm(false, true, 3, 4, 4, a12, 4, 0, big.View.SubView(0, 16), 4, 0, big.View.SubView(50, 12), 4, 0, 1, false, maskB: a10),
            Throws.ArgumentException.With.Message.Contains("maskB has 10 elements, expected at least 16"));
        Assert.That(() => k.Sgemm(false, false, 2, 2, 2, a12, 2, -1, a12, 2, 0, c, 2, 4, 1, false),
            Throws.ArgumentException.With.Message.Contains("stride -1 of a"));
        Assert.That(() => k.Sgemm(false, false, 2, 2, 2, a12, 2, 4, a12, 2, 4, c, 2, 3, 2, false),
            Throws.ArgumentException.With.Message.Contains("strideC=3"));
        Assert.That(() => k.Sgemm(false, false, 2, 2, 2, big.View.SubView(0, 4), 2, 0, a12, 2, 0, big.View.SubView(2, 4), 2, 0, 1, false),
            Throws.ArgumentException.With.Message.Contains("overlaps an input"));
    }

    private static void AssertClose(float[] got, double[] expected, int k, string what)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length));
        double atol = 1e-5 * Math.Max(1, k), rtol = 1e-5;
        for (int i = 0; i < got.Length; i++)
        {
            if (Math.Abs(got[i] - expected[i]) > atol + (rtol * Math.Abs(expected[i])))
            {
                Assert.Fail($"{what}: element {i} is {got[i]}, expected {expected[i]}");
            }
        }
    }

    /// <summary>One batched problem with random operands and a C prefilled with sentinels (or random values).</summary>
    private sealed record Problem
    {
        public Problem(bool transA, bool transB, int m, int n, int k, int extraLd, int batch, int seed, int extraStride = 0, long? strideAOverride = null)
        {
            (TransA, TransB, M, N, K, Batch) = (transA, transB, m, n, k, batch);
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            Lda = aCols + extraLd + (aCols == 0 ? 1 : 0);
            Ldb = bCols + extraLd + (bCols == 0 ? 1 : 0);
            Ldc = n + extraLd + (n == 0 ? 1 : 0);
            StrideA = strideAOverride ?? ((long)aRows * Lda) + extraStride;
            StrideB = ((long)bRows * Ldb) + extraStride;
            StrideC = ((long)m * Ldc) + extraStride;
            var random = new Random(seed);
            A = Fill(random, Span(StrideA, aRows, Lda));
            B = Fill(random, Span(StrideB, bRows, Ldb));
            C = Enumerable.Range(0, (int)Span(StrideC, m, Ldc)).Select(i => InsideC(i) ? (float)((random.NextDouble() * 2) - 1) : Sentinel).ToArray();
        }

        public bool TransA { get; }

        public bool TransB { get; }

        public int M { get; }

        public int N { get; }

        public int K { get; }

        public int Batch { get; }

        public int Lda { get; }

        public int Ldb { get; }

        public int Ldc { get; }

        public long StrideA { get; }

        public long StrideB { get; }

        public long StrideC { get; }

        public float[] A { get; init; }

        public float[] B { get; init; }

        public float[] C { get; init; }

        public bool InsideC(int i)
        {
            long within = StrideC == 0 ? i : i % StrideC;
            return i < StrideC * Batch && within < (long)M * Ldc && within % Ldc < N;
        }

        public double[] Reference(bool accumulate)
        {
            var result = C.Select(v => (double)v).ToArray();
            for (int bi = 0; bi < Batch; bi++)
            {
                for (int i = 0; i < M; i++)
                {
                    for (int j = 0; j < N; j++)
                    {
                        double sum = 0;
                        for (int d = 0; d < K; d++)
                        {
                            double a = A[(bi * StrideA) + (TransA ? ((long)d * Lda) + i : ((long)i * Lda) + d)];
                            double b = B[(bi * StrideB) + (TransB ? ((long)j * Ldb) + d : ((long)d * Ldb) + j)];
                            sum += a * b;
                        }

                        long c = (bi * StrideC) + ((long)i * Ldc) + j;
                        result[c] = accumulate ? result[c] + sum : sum;
                    }
                }
            }

            return result;
        }

        // Three spare elements past the last item check that nothing is written beyond it.
        private long Span(long stride, int rows, int ld) => ((Batch - 1) * stride) + ((long)rows * ld) + 3;

        private static float[] Fill(Random random, long length) =>
            Enumerable.Range(0, (int)Math.Max(length, 1)).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
    }

    /// <summary>Uploads a problem, runs the kernel and reads C back.</summary>
    private readonly struct GemmKernelsUnderTest(GpuKernels kernels)
    {
        public float[] Run(Problem p, bool accumulate, ArrayView<float> bView = default, ArrayView<float> mask = default)
        {
            using var a = kernels.Accelerator.Allocate1D(p.A);
            using var b = kernels.Accelerator.Allocate1D(p.B);
            using var c = kernels.Accelerator.Allocate1D(p.C);
            kernels.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, a.View, p.Lda, p.StrideA, bView.Length > 0 ? bView : b.View, p.Ldb, p.StrideB, c.View, p.Ldc, p.StrideC, p.Batch, accumulate, mask);
            return c.GetAsArray1D();
        }
    }
}
