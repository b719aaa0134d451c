using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class ParallelChunksTests
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(ParallelChunks.MinParallelLength - 1)]
    [TestCase(ParallelChunks.MinParallelLength)]
    [TestCase(ParallelChunks.MinParallelLength + 1)]
    [TestCase((9 * ParallelChunks.ChunkLength) + 17)]
    [TestCase(40 * ParallelChunks.ChunkLength)]
    public void EveryIndexIsVisitedOnce_InRunsOfWholeChunks(int length)
    {
        var visits = new int[length];
        var starts = new System.Collections.Concurrent.ConcurrentBag<int>();
        ParallelChunks.For(length, (start, count) =>
        {
            starts.Add(start);
            for (int i = start; i < start + count; i++)
            {
                Interlocked.Increment(ref visits[i]);
            }
        });

        Assert.That(visits.All(v => v == 1), Is.True, "some index was visited twice or never");
        Assert.That(starts.All(s => s % ParallelChunks.ChunkLength == 0), Is.True, "a run started inside a chunk");
        if (length < ParallelChunks.MinParallelLength)
        {
            Assert.That(starts, Has.Count.EqualTo(length == 0 ? 0 : 1), "a short range is not split");
        }
    }

    [Test]
    public void ABodyThatThrows_FailsTheCall()
    {
        Assert.That(
            () => ParallelChunks.For(ParallelChunks.MinParallelLength * 2, (start, _) =>
            {
                if (start > 0)
                {
                    throw new InvalidOperationException("chunk failed");
                }
            }),
            Throws.InstanceOf<Exception>());
    }
}
