using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Tests.Pruning;

public class MagnitudePrunerTests
{
    private static MaskSet Dense(params (string Name, int Size)[] layers) =>
        new(layers.Select(l => (l.Name, new[] { l.Size }, Enumerable.Repeat(1f, l.Size).ToArray())));

    [Test]
    public void Layerwise_PrunesExactlyRoundedCount_OfSurvivors_SmallestFirst()
    {
        var masks = Dense(("a", 10), ("b", 7));
        var scores = new Dictionary<string, float[]>
        {
            ["a"] = [5, 1, 9, 3, 7, 2, 8, 4, 6, 0.5f],
            ["b"] = [1, 2, 3, 4, 5, 6, 7],
        };
        var next = MagnitudePruner.Layerwise(masks, scores, name => name == "a" ? 0.2 : 0.5);
        Assert.That(next["a"], Is.EqualTo(new float[] { 1, 0, 1, 1, 1, 1, 1, 1, 1, 0 }));
        Assert.That(next["b"], Is.EqualTo(new float[] { 0, 0, 0, 0, 1, 1, 1 }), "round(0.5·7) = 4 (halves away from zero)");

        // The next level counts only survivors: 8 left in a, 20% → 2 more (the next smallest: 2 and 3).
        var third = MagnitudePruner.Layerwise(next, scores, name => name == "a" ? 0.2 : 0.0);
        Assert.That(third["a"], Is.EqualTo(new float[] { 1, 0, 1, 0, 1, 0, 1, 1, 1, 0 }));
        Assert.That(masks["a"], Is.All.EqualTo(1f), "the input masks are not modified");
    }

    [Test]
    public void Ties_AreBrokenByPosition()
    {
        var masks = Dense(("a", 6));
        var scores = new Dictionary<string, float[]> { ["a"] = [1, 1, 1, 1, 0, 1] };
        var next = MagnitudePruner.Layerwise(masks, scores, _ => 0.5);
        Assert.That(next["a"], Is.EqualTo(new float[] { 0, 0, 1, 1, 0, 1 }));
    }

    [Test]
    public void Global_UsesOneThresholdAcrossLayers()
    {
        var masks = Dense(("a", 4), ("b", 4));
        var scores = new Dictionary<string, float[]> { ["a"] = [10, 20, 30, 40], ["b"] = [1, 2, 3, 50] };
        var next = MagnitudePruner.Global(masks, scores, 0.5);
        Assert.That(next["a"], Is.EqualTo(new float[] { 0, 1, 1, 1 }));
        Assert.That(next["b"], Is.EqualTo(new float[] { 0, 0, 0, 1 }));
        Assert.That(next.KeptCount, Is.EqualTo(4));
    }

    [Test]
    public void RandomMasks_KeepPerLayerCounts_AndAreSeeded()
    {
        var masks = MagnitudePruner.Layerwise(Dense(("a", 100), ("b", 50)),
            new Dictionary<string, float[]> { ["a"] = Enumerable.Range(0, 100).Select(i => (float)i).ToArray(), ["b"] = Enumerable.Range(0, 50).Select(i => (float)i).ToArray() },
            _ => 0.3);
        var r1 = RandomMasks.SameDensity(masks, 5);
        var r2 = RandomMasks.SameDensity(masks, 5);
        var r3 = RandomMasks.SameDensity(masks, 6);
        Assert.That(r1.KeptCounts(), Is.EqualTo(masks.KeptCounts()));
        Assert.That(r1["a"], Is.EqualTo(r2["a"]));
        Assert.That(r1["a"], Is.Not.EqualTo(r3["a"]));
        var shuffled = RandomMasks.Shuffle(masks, 7);
        Assert.That(shuffled.KeptCounts(), Is.EqualTo(masks.KeptCounts()));
        Assert.That(shuffled["a"], Is.Not.EqualTo(masks["a"]));
    }

    [Test]
    public void BadInput_IsRejectedWithValues()
    {
        var masks = Dense(("a", 3));
        var ex = Assert.Throws<ArgumentException>(() => MagnitudePruner.Layerwise(masks, new Dictionary<string, float[]> { ["a"] = [1, 2] }, _ => 0.5));
        Assert.That(ex!.Message, Does.Contain("2 scores").And.Contain("3 entries"));
        ex = Assert.Throws<ArgumentException>(() => MagnitudePruner.CountToPrune(10, 1.5));
        Assert.That(ex!.Message, Does.Contain("1.5"));
    }
}
