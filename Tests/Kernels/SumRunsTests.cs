using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class SumRunsTests
{
    [TestCase(3, 5, 7)]
    [TestCase(64, 16, 1024)] // long enough to be split between the cores by channel
    [TestCase(2, 1, 0)]
    public void EachChannel_IsTheSumOfItsRunsInOuterOrder(int outer, int n, int inner)
    {
        float[] x = Reference.Random(new Random(outer + n + inner), outer * n * inner);
        var expected = new float[n];
        for (int m = 0; m < n; m++)
        {
            float sum = 0f;
            for (int o = 0; o < outer; o++)
            {
                sum += System.Numerics.Tensors.TensorPrimitives.Sum(x.AsSpan(((o * n) + m) * inner, inner));
            }

            expected[m] = sum;
        }

        var got = new float[n];
        Reduction.SumRuns(x, outer, n, inner, got);
        Assert.That(got, Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public void BadShapes_AreRefusedWithTheirSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Reduction.SumRuns(new float[10], 2, 3, 2, new float[3]));
        Assert.That(e!.Message, Does.Contain("[2, 3, 2] needs x of 12 and destination of 3, got 10 and 3"));
        var x = new float[12];
        e = Assert.Throws<ArgumentException>(() => Reduction.SumRuns(x, 2, 3, 2, x.AsSpan(0, 3)));
        Assert.That(e!.Message, Does.Contain("destination overlaps x"));
    }
}
