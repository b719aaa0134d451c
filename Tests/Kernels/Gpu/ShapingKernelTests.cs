using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class ShapingKernelTests(string accelerator)
{
    private GpuKernels K => TestAccelerators.Get(accelerator);

    [TestCase(1, 1, 1)]
    [TestCase(2, 17, 33)]
    [TestCase(3, 16, 16)]
    [TestCase(1, 1, 40)]
    [TestCase(1, 40, 1)]
    [TestCase(0, 3, 4)]
    [TestCase(2, 0, 5)]
    public void Transpose_SwapsTheLastTwoDimensions(int batch, int rows, int cols)
    {
        float[] x = GpuTestData.Uniform(batch * rows * cols, 91, -1f, 1f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[x.Length]);
        K.Transpose(a.View, batch, rows, cols, y.View);
        float[] expected = new float[x.Length];
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    expected[(b * rows * cols) + (c * rows) + r] = x[(b * rows * cols) + (r * cols) + c];
                }
            }
        }

        Assert.That(y.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Transpose_RejectsMismatchedLengths()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[12]);
        Assert.That(() => K.Transpose(a.View, 2, 3, 3, y.View), Throws.ArgumentException.With.Message.Contains("[2, 3, 3]"));
        Assert.That(() => K.Transpose(a.View, 1, 3, 4, y.View.SubView(0, 11)), Throws.ArgumentException);
    }

    [TestCase(2, 7, 3, 2, 4)]
    [TestCase(1, 5, 1, 0, 5)]
    [TestCase(3, 4, 2, 4, 0)]
    [TestCase(1, 10, 17, 9, 1)]
    [TestCase(0, 4, 2, 1, 2)]
    public void Narrow_TakesASliceAlongTheAxis(int outer, int axisA, int inner, int start, int axisY)
    {
        float[] x = GpuTestData.Uniform(outer * axisA * inner, 92, -1f, 1f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[outer * axisY * inner]);
        K.Narrow(a.View, outer, axisA, inner, start, axisY, y.View);
        float[] expected = new float[outer * axisY * inner];
        for (int o = 0; o < outer; o++)
        {
            Array.Copy(x, (o * axisA * inner) + (start * inner), expected, o * axisY * inner, axisY * inner);
        }

        Assert.That(y.ToArray(), Is.EqualTo(expected));
    }

    [TestCase(2, 4, 3, 2, 7)]
    [TestCase(1, 5, 1, 0, 5)]
    [TestCase(3, 0, 2, 1, 3)]
    [TestCase(2, 1, 17, 0, 3)]
    [TestCase(2, 3, 1, 5, 8)]
    public void Pad_PlacesTheInputInZeros(int outer, int axisA, int inner, int start, int axisY)
    {
        float[] x = GpuTestData.Uniform(outer * axisA * inner, 93, 1f, 2f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, Enumerable.Repeat(9f, outer * axisY * inner).ToArray());
        K.Pad(a.View, outer, axisA, inner, start, axisY, y.View);
        float[] expected = new float[outer * axisY * inner];
        for (int o = 0; o < outer; o++)
        {
            Array.Copy(x, o * axisA * inner, expected, (o * axisY * inner) + (start * inner), axisA * inner);
        }

        Assert.That(y.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void NarrowAndPad_RejectSlicesOutsideTheAxis()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[6]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.Narrow(a.View, 2, 6, 1, 4, 3, y.View), Throws.ArgumentException.With.Message.Contains("start + 3 ≤ 6"));
            Assert.That(() => K.Narrow(a.View, 2, 6, 1, -1, 3, y.View), Throws.ArgumentException);
            Assert.That(() => K.Narrow(a.View, 2, 6, 1, 0, 2, y.View), Throws.ArgumentException.With.Message.Contains("y of 4"));
            Assert.That(() => K.Pad(y.View, 2, 3, 1, 4, 6, a.View), Throws.ArgumentException.With.Message.Contains("start + 3 ≤ 6"));
            Assert.That(() => K.Pad(y.View, 2, 3, 1, 0, 5, a.View), Throws.ArgumentException);
        });
    }

    [Test]
    public void OneHot_SetsOneOnePerRow()
    {
        Assert.That(RunOneHot([0, 2, 1, 2, 0], 3), Is.EqualTo(new float[] { 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0 }));
        Assert.That(RunOneHot([0, 0], 1), Is.EqualTo(new float[] { 1, 1 }));
        Assert.That(RunOneHot([1, 5, -1], 2), Is.EqualTo(new float[] { 0, 1, 0, 0, 0, 0 }), "labels outside the classes leave their row 0");
        Assert.That(RunOneHot([], 4), Is.Empty);

        var rng = new Random(94);
        int[] labels = Enumerable.Range(0, 1000).Select(_ => rng.Next(10)).ToArray();
        float[] got = RunOneHot(labels, 10);
        Assert.That(Enumerable.Range(0, 1000).All(r => got[(r * 10) + labels[r]] == 1f) && got.Sum() == 1000f);

        using var l = GpuTestData.Upload(K, new int[3]);
        using var y = GpuTestData.Upload(K, new float[10]);
        Assert.That(() => K.OneHot(l.View, 4, y.View), Throws.ArgumentException.With.Message.Contains("y of 12"));
    }

    [Test]
    public void Gather_ReadsTheIndexedElements([Values(0, 1, 17, 1000)] int n)
    {
        float[] x = GpuTestData.Uniform(100, 95, -1f, 1f);
        var rng = new Random(96);
        int[] index = Enumerable.Range(0, n).Select(_ => rng.Next(100)).ToArray();
        Assert.That(RunGather(x, index), Is.EqualTo(index.Select(i => x[i]).ToArray()));
    }

    [Test]
    public void Gather_GivesNaNOutsideTheInput_AndRejectsMismatchedLengths()
    {
        Assert.That(RunGather([1f, 2f, 3f], [2, 3, -1, 0]), Is.EqualTo(new[] { 3f, float.NaN, float.NaN, 1f }));
        using var a = GpuTestData.Upload(K, new float[3]);
        using var i = GpuTestData.Upload(K, new int[4]);
        using var y = GpuTestData.Upload(K, new float[3]);
        Assert.That(() => K.Gather(a.View, i.View, y.View), Throws.ArgumentException.With.Message.Contains("index has 4 elements but y 3"));
    }

    [TestCase(1000, 37)]      // long buckets (about 27 per output): the heapsort
    [TestCase(50, 1000)]      // mostly empty outputs, short buckets: the insertion sort; two levels of prefix sums
    [TestCase(300, 1)]        // one bucket of everything
    [TestCase(5000, 70_000)]  // 274 blocks of counts: a three-level prefix sum
    [TestCase(17, 17)]
    [TestCase(1, 1)]
    public void ScatterAdd_AddsInIncreasingIndexOrder_BitForBitAsTheCpu(int n, int m)
    {
        // Magnitudes spread over many binades make the sum depend on the order of its terms.
        var rng = new Random(97 + n);
        float[] x = Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 5)))).ToArray();
        int[] index = Enumerable.Range(0, n).Select(_ => rng.Next(m)).ToArray();
        float[] expected = new float[m];
        for (int i = 0; i < n; i++)
        {
            expected[index[i]] += x[i];
        }

        float[] got = RunScatterAdd(x, index, m);
        Assert.That(got, Is.EqualTo(expected).Using<float>(GpuTestData.SameBits));
        Assert.That(RunScatterAdd(x, index, m), Is.EqualTo(got).Using<float>(GpuTestData.SameBits), "same bits on a second launch");
    }

    [Test]
    public void ScatterAdd_EdgeCases()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RunScatterAdd([1f, 2f, 4f, 8f], [1, 5, -1, 1], 3), Is.EqualTo(new[] { 0f, 9f, 0f }), "indices outside y are skipped");
            Assert.That(RunScatterAdd([], [], 4), Is.EqualTo(new float[4]), "no values: zeros");
            Assert.That(RunScatterAdd([1f, 2f], [0, 0], 0), Is.Empty);
        });

        using var a = GpuTestData.Upload(K, new float[3]);
        using var i = GpuTestData.Upload(K, new int[4]);
        using var y = GpuTestData.Upload(K, new float[3]);
        Assert.That(() => K.ScatterAdd(a.View, i.View, y.View), Throws.ArgumentException.With.Message.Contains("a has 3 elements but index 4"));
    }

    private float[] RunOneHot(int[] labels, int classes)
    {
        using var l = GpuTestData.Upload(K, labels);
        using var y = GpuTestData.Upload(K, Enumerable.Repeat(7f, labels.Length * classes).ToArray());
        K.OneHot(l.View, classes, y.View);
        return y.ToArray();
    }

    private float[] RunGather(float[] x, int[] index)
    {
        using var a = GpuTestData.Upload(K, x);
        using var i = GpuTestData.Upload(K, index);
        using var y = GpuTestData.Upload(K, new float[index.Length]);
        K.Gather(a.View, i.View, y.View);
        return y.ToArray();
    }

    private float[] RunScatterAdd(float[] x, int[] index, int m)
    {
        using var a = GpuTestData.Upload(K, x);
        using var i = GpuTestData.Upload(K, index);
        using var y = GpuTestData.Upload(K, Enumerable.Repeat(7f, m).ToArray());
        K.ScatterAdd(a.View, i.View, y.View);
        return y.ToArray();
    }
}
