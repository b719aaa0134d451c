using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>The selection primitive pruning thresholds come from, through the device's backend.</summary>
public class KthSmallestTests
{
    [Test]
    public void EveryRank_IsTheSortedValue_AndTheTensorIsLeftAsItWas()
    {
        var rng = new System.Random(31);
        var values = Enumerable.Range(0, 5000).Select(_ => (float)Math.Round(rng.NextDouble() * 200 - 100, 1)).ToArray();
        var t = Tensor.FromArray(values, 50, 100);
        var sorted = values.Order().ToArray();
        foreach (int k in new[] { 0, 1, 17, 2499, 2500, 4998, 4999 })
        {
            Assert.That(t.KthSmallest(k), Is.EqualTo(sorted[k]), $"k = {k}");
        }

        Assert.That(t.ToArray(), Is.EqualTo(values), "the tensor must be left as it was");
    }

    [Test]
    public void ARankOutsideTheTensor_OrANaN_IsAnErrorNamingIt()
    {
        var t = Tensor.FromArray([3f, 1f, 2f], 3);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => t.KthSmallest(3))!.Message, Does.Contain("k = 3 is outside [0, 3)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.KthSmallest(-1));
        var nan = Tensor.FromArray([3f, float.NaN, 2f], 3);
        Assert.That(Assert.Throws<ArgumentException>(() => nan.KthSmallest(0))!.Message, Does.Contain("index 1"));
    }
}
