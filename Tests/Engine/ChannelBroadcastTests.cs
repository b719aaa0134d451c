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
    public void AddMulDivAndSumTo_MatchIndexByIndexBroadcasting(int[] small)
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

        var sums = new double[b.Length];
        for (int i = 0; i < a.Length; i++)
        {
            sums[B(i)] += a[i];
        }

        Assert.That(ta.SumTo(small).ToArray(), Is.EqualTo(sums.Select(v => (float)v).ToArray()).Within(1e-5f));
    }
}
