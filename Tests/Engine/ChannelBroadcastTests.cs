using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>Broadcasting one contiguous run of dimensions (channel biases) against the index-by-index rule.</summary>
public class ChannelBroadcastTests
{
    private static int[] Strides(int[] shape, int rank)
    {
        var padded = Enumerable.Repeat(1, rank - shape.Length).Concat(shape).ToArray();
        var strides = new int[rank];
        int s = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            strides[d] = padded[d] == 1 ? 0 : s;
            s *= padded[d];
        }

        return strides;
    }

    [TestCase(new[] { 3, 1, 1 })]
    [TestCase(new[] { 1, 3, 4, 1 })]
    [TestCase(new[] { 3, 4, 1 })]
    [TestCase(new[] { 2, 1, 1, 1 })]
    public void AddMulDivBroadcastToAndSumTo_MatchIndexByIndexBroadcasting(int[] small)
    {
        int[] big = [2, 3, 4, 5];
        var rng = new System.Random(8);
        var a = Enumerable.Range(0, 120).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        var b = Enumerable.Range(0, small.Aggregate(1, (x, y) => x * y)).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        var ta = Tensor.FromArray(a, big);
        var tb = Tensor.FromArray(b, small);
        var sb = Strides(small, 4);
        int B(int i) => (((i / 60) % 2) * sb[0]) + (((i / 20) % 3) * sb[1]) + (((i / 5) % 4) * sb[2]) + ((i % 5) * sb[3]);

        Assert.That((ta + tb).ToArray(), Is.EqualTo(a.Select((v, i) => v + b[B(i)]).ToArray()));
        Assert.That((ta * tb).ToArray(), Is.EqualTo(a.Select((v, i) => v * b[B(i)]).ToArray()));
        Assert.That((ta / tb).ToArray(), Is.EqualTo(a.Select((v, i) => v / b[B(i)]).ToArray()));
        Assert.That(tb.BroadcastTo(big).ToArray(), Is.EqualTo(a.Select((_, i) => b[B(i)]).ToArray()));

        var sums = new double[b.Length];
        for (int i = 0; i < a.Length; i++)
        {
            sums[B(i)] += a[i];
        }

        Assert.That(ta.SumTo(small).ToArray(), Is.EqualTo(sums.Select(v => (float)v).ToArray()).Within(1e-5f));
    }

    [Test]
    public void LongPassesSplitBetweenTheCores_MatchIndexByIndex()
    {
        // 3·5·97·113 = 164,415 elements: long enough to be split into chunks, and the chunks cut channel runs of
        // 10,961 elements in the middle.
        int[] big = [3, 5, 97, 113];
        int n = big.Aggregate(1, (x, y) => x * y), inner = 97 * 113;
        var rng = new System.Random(9);
        var a = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var b = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var c = Enumerable.Range(0, 5).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        var ta = Tensor.FromArray(a, big);
        var tb = Tensor.FromArray(b, big);

        Assert.That((ta + tb).ToArray(), Is.EqualTo(a.Select((v, i) => v + b[i]).ToArray()));
        Assert.That((ta * Tensor.FromArray(c, [5, 1, 1])).ToArray(), Is.EqualTo(a.Select((v, i) => v * c[(i / inner) % 5]).ToArray()));
        Assert.That(ta.WherePositive(tb).ToArray(), Is.EqualTo(a.Select((v, i) => b[i] > 0 ? v : 0f).ToArray()));
        Assert.That(ta.Relu().ToArray(), Is.EqualTo(a.Select(v => Math.Max(v, 0f)).ToArray()));
        Assert.That((ta * 3f).ToArray(), Is.EqualTo(a.Select(v => v * 3f).ToArray()));

        // Per-channel sums (a bias gradient), split between the cores by channel: each channel's runs in image order.
        var sums = new float[5];
        for (int m = 0; m < 5; m++)
        {
            for (int o = 0; o < 3; o++)
            {
                sums[m] += System.Numerics.Tensors.TensorPrimitives.Sum(a.AsSpan(((o * 5) + m) * inner, inner));
            }
        }

        Assert.That(ta.SumTo([5, 1, 1]).ToArray(), Is.EqualTo(sums));
    }
}
