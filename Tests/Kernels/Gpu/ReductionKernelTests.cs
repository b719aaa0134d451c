using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class ReductionKernelTests(string accelerator)
{
    private GpuKernels K => TestAccelerators.Get(accelerator);

    private static IEnumerable<TestCaseData> SumCases()
    {
        yield return Case([100_003], []);                        // whole tensor to a scalar: group chunks, then a second pass
        yield return Case([128, 300], [300]);                    // bias gradient: side-by-side column sums
        yield return Case([128, 300], [1, 300]);
        yield return Case([8, 16, 7, 9], [1, 16, 1, 1]);         // per-channel sums over images and positions
        yield return Case([3, 4, 5], [3, 1, 5]);
        yield return Case([3, 4, 5], [4, 1]);
        yield return Case([3, 4, 5], [5]);
        yield return Case([3, 4, 5], [3, 4, 5]);                 // nothing summed: a copy
        yield return Case([3, 4, 5], [1, 1, 1]);
        yield return Case([17, 1000], [17, 1]);                  // long rows: one group per row
        yield return Case([1000, 17], [1000, 1]);                // short rows: one thread per row
        yield return Case([50_000, 2], [2]);                     // two columns of many rows: group chunks, then threads
        yield return Case([20_000, 40], [40]);                   // 40 columns of many rows: three passes of thread chunks
        yield return Case([2, 1, 3, 1, 2, 1, 2, 1], [1, 1, 3, 1, 1, 1, 2, 1]);
        yield return Case([1], []);
        yield return Case([], []);
        yield return Case([0, 5], [5]);                          // an empty sum is 0
        yield return Case([5, 0], [5, 1]);
        yield return Case([0, 5], [0, 5]);

        static TestCaseData Case(int[] a, int[] y) => new TestCaseData(a, y).SetArgDisplayNames(GpuTestData.Format(a), GpuTestData.Format(y));
    }

    [TestCaseSource(nameof(SumCases))]
    public void SumTo_MatchesADoubleReference(int[] aShape, int[] yShape)
    {
        float[] x = GpuTestData.Uniform(GpuTestData.Count(aShape), 41, -1f, 1f);
        float[] got = RunSumTo(x, aShape, yShape, prefill: 7f);

        // Each output within a float rounding per level of a fixed tree over the magnitudes it sums.
        int n = GpuTestData.Count(yShape);
        double[] sum = new double[n], magnitude = new double[n];
        for (int i = 0; i < x.Length; i++)
        {
            int o = GpuTestData.SourceIndex(i, aShape, yShape);
            sum[o] += x[i];
            magnitude[o] += Math.Abs(x[i]);
        }

        for (int o = 0; o < n; o++)
        {
            Assert.That(got[o], Is.EqualTo(sum[o]).Within(1e-6 + (2e-6 * magnitude[o])), $"output {o}");
        }
    }

    [Test]
    public void SumTo_GivesTheSameBitsEveryLaunch()
    {
        float[] x = GpuTestData.Uniform(100_003, 42, -1f, 1f);
        float[] first = RunSumTo(x, [100_003], [], 0f), second = RunSumTo(x, [100_003], [], 0f);
        Assert.That(BitConverter.SingleToInt32Bits(second[0]), Is.EqualTo(BitConverter.SingleToInt32Bits(first[0])));

        float[] images = GpuTestData.Uniform(8 * 16 * 7 * 9, 43, -1f, 1f);
        float[] channels = RunSumTo(images, [8, 16, 7, 9], [1, 16, 1, 1], 0f);
        Assert.That(RunSumTo(images, [8, 16, 7, 9], [1, 16, 1, 1], 0f), Is.EqualTo(channels).Using<float>(GpuTestData.SameBits));

        float[] columns = GpuTestData.Uniform(20_000 * 40, 44, -1f, 1f);
        float[] sums = RunSumTo(columns, [20_000, 40], [40], 0f);
        Assert.That(RunSumTo(columns, [20_000, 40], [40], 0f), Is.EqualTo(sums).Using<float>(GpuTestData.SameBits));
    }

    [Test]
    public void SumTo_RejectsShapesThatAreNotAReduction()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[4]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.SumTo(a.View, [3, 4], y.View, [4, 1]), Throws.ArgumentException.With.Message.Contains("not a reduction"));
            Assert.That(() => K.SumTo(a.View, [12], y.View, [1, 4]), Throws.ArgumentException);
            Assert.That(() => K.SumTo(a.View, [3, 4], y.View, [1, 1, 4]), Throws.ArgumentException.With.Message.Contains("more dimensions"));
            Assert.That(() => K.SumTo(a.View, [3, 4], y.View, [3]), Throws.ArgumentException.With.Message.Contains("y has 4 elements"));
            Assert.That(() => K.SumTo(a.View, [1, 1, 1, 1, 1, 1, 1, 3, 4], y.View, [4]), Throws.ArgumentException.With.Message.Contains("rank 9"));
        });
    }

    [TestCase(1, 1, 1)]
    [TestCase(3, 17, 5)]
    [TestCase(4, 1000, 1)]
    [TestCase(2, 5000, 3)]
    [TestCase(1, 17, 1)]
    [TestCase(5, 0, 3)]
    [TestCase(0, 4, 2)]
    public void MaxAlong_MatchesTheCpuKernel(int outer, int axis, int inner)
    {
        float[] x = GpuTestData.Uniform(outer * axis * inner, 51, -100f, 100f);
        if (x.Length > 10)
        {
            x[7] = float.NaN;
        }

        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[outer * inner]);
        K.MaxAlong(a.View, outer, axis, inner, y.View);
        float[] expected = new float[outer * inner];
        SparseNet.Kernels.Cpu.Reduction.MaxAlong(x, outer, axis, inner, expected);
        Assert.That(y.ToArray(), Is.EqualTo(expected).Using<float>(GpuTestData.SameBits));
    }

    [Test]
    public void MaxAlong_RejectsMismatchedLengths()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[4]);
        Assert.That(() => K.MaxAlong(a.View, 2, 3, 3, y.View), Throws.ArgumentException.With.Message.Contains("[2, 3, 3]"));
        Assert.That(() => K.MaxAlong(a.View, -2, -3, 2, y.View), Throws.ArgumentException);
    }

    [TestCase(1, 1, false)]
    [TestCase(3, 10, false)]
    [TestCase(5, 17, true)]
    [TestCase(2, 1000, false)]
    [TestCase(4, 300, true)]
    [TestCase(6, 33, true)]
    [TestCase(0, 5, false)]
    public void Softmax_IsStableForLargeValues(int rows, int cols, bool log)
    {
        // Logits near 1000 with spreads of tens: e^x overflows a float, e^(x − max) does not.
        float[] x = GpuTestData.Uniform(rows * cols, 61 + cols, -30f, 30f).Select(v => v + 1000f).ToArray();
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[x.Length]);
        K.Softmax(a.View, rows, cols, y.View, log);
        GpuTestData.AssertClose(y.ToArray(), ReferenceSoftmax(x, rows, cols, log), log ? 1e-4 : 1e-6, 1e-5);
    }

    [Test]
    public void Softmax_InPlace_AndTheSameBitsEveryLaunch([Values] bool log)
    {
        float[] x = GpuTestData.Uniform(7 * 300, 62, -5f, 5f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[x.Length]);
        K.Softmax(a.View, 7, 300, y.View, log);
        K.Softmax(a.View, 7, 300, a.View, log);
        float[] separate = y.ToArray();
        Assert.That(a.ToArray(), Is.EqualTo(separate).Using<float>(GpuTestData.SameBits));
        GpuTestData.AssertClose(separate, ReferenceSoftmax(x, 7, 300, log), 1e-6, 1e-5);
    }

    [Test]
    public void Softmax_RejectsMismatchedLengths()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[11]);
        Assert.That(() => K.Softmax(a.View, 3, 4, y.View, false), Throws.ArgumentException.With.Message.Contains("y 11"));
        Assert.That(() => K.Softmax(a.View, 3, 5, a.View, true), Throws.ArgumentException.With.Message.Contains("[3, 5]"));
    }

    [TestCase(1, 1)]
    [TestCase(7, 10)]
    [TestCase(64, 10)]
    [TestCase(3, 1000)]
    [TestCase(300, 3)]
    public void SoftmaxCrossEntropy_MatchesADoubleReference(int rows, int cols)
    {
        float[] x = GpuTestData.Uniform(rows * cols, 71 + rows, -40f, 40f).Select(v => v + 500f).ToArray();
        var rng = new Random(72);
        int[] labels = Enumerable.Range(0, rows).Select(_ => rng.Next(cols)).ToArray();
        float got = RunCrossEntropy(x, rows, cols, labels);

        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            double max = x.Skip(r * cols).Take(cols).Max();
            double s = x.Skip(r * cols).Take(cols).Sum(v => Math.Exp(v - max));
            total += Math.Log(s) + max - x[(r * cols) + labels[r]];
        }

        double expected = total / rows;
        Assert.That(got, Is.EqualTo(expected).Within(1e-5 + (1e-5 * Math.Abs(expected))));
        Assert.That(BitConverter.SingleToInt32Bits(RunCrossEntropy(x, rows, cols, labels)), Is.EqualTo(BitConverter.SingleToInt32Bits(got)), "same bits on a second launch");
    }

    [Test]
    public void SoftmaxCrossEntropy_EdgeCases()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RunCrossEntropy([], 0, 10, []), Is.Zero, "no rows");
            Assert.That(RunCrossEntropy([1f, 2f, 3f], 1, 3, [3]), Is.NaN, "a label outside the classes");
            Assert.That(RunCrossEntropy([0f, 0f, 0f, 0f], 2, 2, [0, 1]), Is.EqualTo(MathF.Log(2f)).Within(1e-6));
        });

        using var logits = GpuTestData.Upload(K, new float[6]);
        using var labels = GpuTestData.Upload(K, new int[3]);
        using var result = GpuTestData.Upload(K, new float[1]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.SoftmaxCrossEntropy(logits.View, 3, 2, labels.View.SubView(0, 2), result.View), Throws.ArgumentException.With.Message.Contains("2 labels"));
            Assert.That(() => K.SoftmaxCrossEntropy(logits.View, 2, 2, labels.View, result.View), Throws.ArgumentException);
            Assert.That(() => K.SoftmaxCrossEntropy(logits.View, 3, 2, labels.View, result.View.SubView(0, 0)), Throws.ArgumentException);
            Assert.That(() => K.SoftmaxCrossEntropy(logits.View.SubView(0, 0), 3, 0, labels.View, result.View), Throws.ArgumentException.With.Message.Contains("at least 1 class"));
        });
    }

    [Test]
    public void ArgMaxRows_TakesTheFirstMaximum()
    {
        float[] x =
        [
            1f, 3f, 3f, 2f,
            5f, 5f, 5f, 5f,
            float.NaN, 9f, 1f, 2f,
            0f, float.NaN, 4f, 4f,
            -1f, -2f, -3f, -0.5f,
            float.NegativeInfinity, float.NegativeInfinity, -1e30f, float.NegativeInfinity,
        ];
        Assert.That(RunArgMax(x, 6, 4), Is.EqualTo(new[] { 1, 0, 0, 2, 3, 2 }));
        Assert.That(RunArgMax([2f, 7f, -1f], 3, 1), Is.EqualTo(new[] { 0, 0, 0 }));
        Assert.That(RunArgMax([], 0, 4), Is.Empty);
    }

    [TestCase(1, 1)]
    [TestCase(50, 10)]
    [TestCase(1000, 7)]
    public void ArgMaxRows_AndCountCorrect_MatchTheTrainersRule(int rows, int cols)
    {
        // Halves tie often, so the first-maximum rule is exercised.
        float[] x = GpuTestData.Halves(rows * cols, 81);
        var rng = new Random(82);
        int[] labels = Enumerable.Range(0, rows).Select(_ => rng.Next(cols)).ToArray();
        int[] expected = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 1; c < cols; c++)
            {
                if (x[(r * cols) + c] > x[(r * cols) + expected[r]])
                {
                    expected[r] = c;
                }
            }
        }

        Assert.That(RunArgMax(x, rows, cols), Is.EqualTo(expected));
        using var a = GpuTestData.Upload(K, x);
        using var l = GpuTestData.Upload(K, labels);
        Assert.That(K.CountCorrect(a.View, rows, cols, l.View), Is.EqualTo(expected.Where((e, r) => e == labels[r]).Count()));
        Assert.That(K.CountCorrect(a.View, rows, cols, l.View), Is.EqualTo(expected.Where((e, r) => e == labels[r]).Count()), "the count starts from 0 each call");
    }

    [Test]
    public void ArgMaxRows_AndCountCorrect_RejectBadSizes()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var l = GpuTestData.Upload(K, new int[3]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.ArgMaxRows(a.View, 3, 4, l.View.SubView(0, 2)), Throws.ArgumentException.With.Message.Contains("result of 3"));
            Assert.That(() => K.ArgMaxRows(a.View, 4, 4, l.View), Throws.ArgumentException.With.Message.Contains("[4, 4]"));
            Assert.That(() => K.CountCorrect(a.View, 3, 4, l.View.SubView(0, 1)), Throws.ArgumentException.With.Message.Contains("got 1"));
            Assert.That(() => K.CountCorrect(a.View.SubView(0, 0), 3, 0, l.View), Throws.ArgumentException);
            Assert.That(K.CountCorrect(a.View.SubView(0, 0), 0, 4, l.View.SubView(0, 0)), Is.Zero);
        });
    }

    private float[] RunSumTo(float[] x, int[] aShape, int[] yShape, float prefill)
    {
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, Enumerable.Repeat(prefill, GpuTestData.Count(yShape)).ToArray());
        K.SumTo(a.View, aShape, y.View, yShape);
        return y.ToArray();
    }

    private float RunCrossEntropy(float[] x, int rows, int cols, int[] labels)
    {
        using var a = GpuTestData.Upload(K, x);
        using var l = GpuTestData.Upload(K, labels);
        using var result = GpuTestData.Upload(K, new[] { 5f, 6f });
        K.SoftmaxCrossEntropy(a.View, rows, cols, l.View, result.View);
        float[] got = result.ToArray();
        Assert.That(got[1], Is.EqualTo(6f), "only result[0] is written");
        return got[0];
    }

    private int[] RunArgMax(float[] x, int rows, int cols)
    {
        using var a = GpuTestData.Upload(K, x);
        using var result = GpuTestData.Upload(K, new int[rows]);
        K.ArgMaxRows(a.View, rows, cols, result.View);
        return result.ToArray();
    }

    private static double[] ReferenceSoftmax(float[] x, int rows, int cols, bool log)
    {
        double[] r = new double[x.Length];
        for (int row = 0; row < rows; row++)
        {
            var values = x.Skip(row * cols).Take(cols).Select(v => (double)v).ToArray();
            double max = values.Max(), sum = values.Sum(v => Math.Exp(v - max));
            for (int c = 0; c < cols; c++)
            {
                r[(row * cols) + c] = log ? values[c] - max - Math.Log(sum) : Math.Exp(values[c] - max) / sum;
            }
        }

        return r;
    }
}
