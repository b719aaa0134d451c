using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class BatchSamplerTests
{
    [TestCase(10, 3, false, 4)]
    [TestCase(10, 3, true, 3)]
    [TestCase(9, 3, false, 3)]
    [TestCase(9, 3, true, 3)]
    [TestCase(1, 64, false, 1)]
    public void BatchesPerEpoch_CountsThePartialBatchUnlessDropped(int count, int batch, bool dropLast, int expected)
    {
        Assert.That(new BatchSampler(count, batch, shuffle: true, seed: 1, dropLast).BatchesPerEpoch, Is.EqualTo(expected));
    }

    [Test]
    public void Order_IsAPermutationThatChangesEachEpoch()
    {
        var sampler = new BatchSampler(500, 32, shuffle: true, seed: 3);
        int[] e0 = sampler.Order(0).ToArray();
        int[] e1 = sampler.Order(1).ToArray();
        Assert.That(e0.Order(), Is.EqualTo(Enumerable.Range(0, 500)));
        Assert.That(e1.Order(), Is.EqualTo(Enumerable.Range(0, 500)));
        Assert.That(e1, Is.Not.EqualTo(e0));
        Assert.That(e0, Is.Not.EqualTo(Enumerable.Range(0, 500)));
    }

    [Test]
    public void Order_OfAnEpochDoesNotDependOnEarlierEpochs()
    {
        var fresh = new BatchSampler(200, 16, shuffle: true, seed: 9);
        int[] direct = fresh.Order(5).ToArray();

        var walked = new BatchSampler(200, 16, shuffle: true, seed: 9);
        for (int e = 0; e < 5; e++)
        {
            _ = walked.Order(e);
        }

        Assert.That(walked.Order(5).ToArray(), Is.EqualTo(direct));
        Assert.That(new BatchSampler(200, 16, shuffle: true, seed: 10).Order(5).ToArray(), Is.Not.EqualTo(direct));
    }

    [Test]
    public void Order_WithoutShuffle_IsIndexOrder()
    {
        var sampler = new BatchSampler(7, 2, shuffle: false, seed: 1);
        Assert.That(sampler.Order(3).ToArray(), Is.EqualTo(Enumerable.Range(0, 7)));
    }

    [Test]
    public void Batches_CoverTheEpochWithAPartialLastBatch()
    {
        var sampler = new BatchSampler(10, 4, shuffle: true, seed: 2);
        int[] order = sampler.Order(1).ToArray();
        int[][] batches = Enumerable.Range(0, sampler.BatchesPerEpoch).Select(b => sampler.Batch(1, b).ToArray()).ToArray();
        Assert.That(batches.Select(b => b.Length), Is.EqualTo(Values.Of(4, 4, 2)));
        Assert.That(batches.SelectMany(b => b), Is.EqualTo(order));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Batch(1, 3));

        var dropping = new BatchSampler(10, 4, shuffle: true, seed: 2, dropLast: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => dropping.Batch(1, 2));
    }

    [Test]
    public void Constructor_RejectsBadSizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(0, 4, true, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(10, 0, true, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(3, 4, true, 1, dropLast: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(3, 4, true, 1).Order(-1));
    }

    [Test]
    public void Gather_CopiesRowsAndLabelsInIndexOrder()
    {
        var ds = new Dataset([0f, 1f, 10f, 11f, 20f, 21f], [0, 1, 2], [2], 3);
        var sampler = new BatchSampler(3, 4, shuffle: false, seed: 0);
        var x = new float[8];
        var y = new int[4];
        sampler.Gather(ds, [2, 0], x, y);
        Assert.That(x[..4], Is.EqualTo(Values.Of(20f, 21f, 0f, 1f)));
        Assert.That(y[..2], Is.EqualTo(Values.Of(2, 0)));
    }

    [Test]
    public void Gather_RejectsShortBuffersBadIndicesAndOtherDatasets()
    {
        var ds = new Dataset(new float[6], [0, 1, 2], [2], 3);
        var sampler = new BatchSampler(3, 2, shuffle: false, seed: 0);
        var e = Assert.Throws<ArgumentException>(() => sampler.Gather(ds, [0, 1], new float[3], new int[2]));
        Assert.That(e!.Message, Does.Contain("need x of 4 and y of 2, got 3 and 2"));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Gather(ds, [3], new float[2], new int[1]));
        var other = new Dataset(new float[2], [0], [2], 3);
        Assert.Throws<ArgumentException>(() => sampler.Gather(other, [0], new float[2], new int[1]));
    }
}
