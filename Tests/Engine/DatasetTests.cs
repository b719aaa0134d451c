using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class DatasetTests
{
    // Example i has features [i, i + 0.5] and label i % 3, so rows can be traced after a split.
    private static Dataset Numbered(int count)
    {
        var features = new float[count * 2];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            features[2 * i] = i;
            features[2 * i + 1] = i + 0.5f;
            labels[i] = i % 3;
        }

        return new Dataset(features, labels, [1, 2], 3);
    }

    [Test]
    public void Constructor_ExposesSizes()
    {
        Dataset ds = Numbered(4);
        Assert.That((ds.Count, ds.FeatureSize, ds.NumClasses), Is.EqualTo((4, 2, 3)));
        Assert.That(ds.FeatureShape, Is.EqualTo(Values.Of(1, 2)));
        Assert.That(ds.Example(3).ToArray(), Is.EqualTo(Values.Of(3f, 3.5f)));
    }

    [Test]
    public void Constructor_RejectsInconsistentArrays()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[5], new int[2], [1, 2], 3));
        Assert.That(e!.Message, Does.Contain("2 labels x 2 features = 4 values expected, features hold 5"));
        var e2 = Assert.Throws<ArgumentException>(() => new Dataset(new float[2], [3], [2], 3));
        Assert.That(e2!.Message, Does.Contain("label 3 of example 0 is outside [0, 3)"));
        Assert.Throws<ArgumentException>(() => new Dataset([], [], [0, 2], 3));
    }

    [Test]
    public void Split_PartitionsTheExamplesDeterministically()
    {
        Dataset ds = Numbered(100);
        (Dataset rest, Dataset held) = ds.Split(30, seed: 7);
        Assert.That((rest.Count, held.Count), Is.EqualTo((70, 30)));

        int[] restIds = Enumerable.Range(0, rest.Count).Select(i => (int)rest.Example(i)[0]).ToArray();
        int[] heldIds = Enumerable.Range(0, held.Count).Select(i => (int)held.Example(i)[0]).ToArray();
        Assert.That(restIds.Concat(heldIds).Order(), Is.EqualTo(Enumerable.Range(0, 100)));
        Assert.That(restIds, Is.Ordered);
        Assert.That(heldIds, Is.Not.EqualTo(Enumerable.Range(70, 30)), "held-out examples are chosen at random, not the tail");
        Assert.That(held.Labels, Is.EqualTo(heldIds.Select(i => i % 3)));
        Assert.That(held.Example(0)[1], Is.EqualTo(heldIds[0] + 0.5f));

        (_, Dataset again) = ds.Split(30, seed: 7);
        (_, Dataset other) = ds.Split(30, seed: 8);
        Assert.That(again.Features, Is.EqualTo(held.Features));
        Assert.That(other.Features, Is.Not.EqualTo(held.Features));
    }

    [TestCase(-1)]
    [TestCase(10)]
    [TestCase(11)]
    public void Split_RejectsBadHoldOut(int holdOut)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(10).Split(holdOut, 1));
        Assert.That(e!.Message, Does.Contain($"{holdOut} of 10"));
    }

    [Test]
    public void Split_ZeroHoldOut_KeepsEverything()
    {
        (Dataset rest, Dataset held) = Numbered(10).Split(0, 1);
        Assert.That((rest.Count, held.Count), Is.EqualTo((10, 0)));
        Assert.That(rest.Features, Is.EqualTo(Numbered(10).Features));
    }
}
