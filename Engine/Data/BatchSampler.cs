using SparseNet.Engine.Random;

namespace SparseNet.Engine.Data;

/// <summary>
/// Splits the examples 0 .. count − 1 into mini-batches, in a seeded random order per epoch.
/// </summary>
/// <remarks>
/// The order of epoch e is drawn from Philox(seed, <see cref="RngStreams.DataOrder"/>) starting at
/// word e · 2^33, a region of its own for each epoch. It depends only on (seed, epoch), not on
/// which epochs were drawn before, so training can resume at any epoch and see the same batches.
/// </remarks>
public sealed class BatchSampler
{
    // 2^33 words per epoch: at least four words per item for any int-sized shuffle (which needs
    // about one), and epoch int.MaxValue still fits in the 64-bit word position.
    private const int EpochShift = 33;

    private readonly int[] _order;
    private int _orderEpoch = -1;

    /// <summary>Creates a sampler.</summary>
    /// <param name="count">Number of examples; must be positive.</param>
    /// <param name="batchSize">Examples per batch; must be positive.</param>
    /// <param name="shuffle">False visits examples in index order every epoch (evaluation).</param>
    /// <param name="seed">Experiment seed.</param>
    /// <param name="dropLast">Drop a last batch smaller than <paramref name="batchSize"/>.</param>
    public BatchSampler(int count, int batchSize, bool shuffle, ulong seed, bool dropLast = false)
    {
        if (count <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "BatchSampler: example count must be positive.");
        }

        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "BatchSampler: batch size must be positive.");
        }

        if (dropLast && batchSize > count)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"BatchSampler: batch size {batchSize} with dropLast leaves no batch of {count} examples.");
        }

        Count = count;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        _order = new int[count];
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the examples in a random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the data order.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a last partial batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches in one epoch (the last one may be partial unless <see cref="DropLast"/>).</summary>
    public int BatchesPerEpoch => DropLast ? Count / BatchSize : (int)(((long)Count + BatchSize - 1) / BatchSize);

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the examples. The span stays valid
    /// until the next call for a different epoch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public ReadOnlySpan<int> Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (_orderEpoch != epoch)
        {
            for (int i = 0; i < _order.Length; i++)
            {
                _order[i] = i;
            }

            if (Shuffle)
            {
                var rng = new Philox(Seed, RngStreams.DataOrder) { Position = (ulong)epoch << EpochShift };
                rng.Shuffle(_order.AsSpan());
            }

            _orderEpoch = epoch;
        }

        return _order;
    }

    /// <summary>Example indices of batch <paramref name="batch"/> of epoch <paramref name="epoch"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch index is outside [0, <see cref="BatchesPerEpoch"/>).</exception>
    public ReadOnlySpan<int> Batch(int epoch, int batch)
    {
        if ((uint)batch >= (uint)BatchesPerEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"BatchSampler: batch {batch} is outside [0, {BatchesPerEpoch}).");
        }

        int start = batch * BatchSize;
        return Order(epoch).Slice(start, Math.Min(BatchSize, Count - start));
    }

    /// <summary>
    /// Copies the features and labels of the examples at <paramref name="indices"/> into
    /// <paramref name="x"/> (row-major [indices.Length, FeatureSize]) and <paramref name="y"/>.
    /// The buffers may be longer than needed (a full-batch buffer reused for the last batch).
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is too short, or <paramref name="ds"/> is not the size this sampler was built for.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the dataset.</exception>
    public void Gather(Dataset ds, ReadOnlySpan<int> indices, Span<float> x, Span<int> y)
    {
        ArgumentNullException.ThrowIfNull(ds);
        if (ds.Count != Count)
        {
            throw new ArgumentException($"BatchSampler.Gather: sampler is for {Count} examples but the dataset holds {ds.Count}.", nameof(ds));
        }

        int size = ds.FeatureSize;
        if ((long)indices.Length * size > x.Length || indices.Length > y.Length)
        {
            throw new ArgumentException($"BatchSampler.Gather: {indices.Length} examples of {size} features need x of {(long)indices.Length * size} and y of {indices.Length}, got {x.Length} and {y.Length}.");
        }

        for (int i = 0; i < indices.Length; i++)
        {
            int src = indices[i];
            if ((uint)src >= (uint)ds.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), src, $"BatchSampler.Gather: index {src} is outside [0, {ds.Count}).");
            }

            ds.Features.AsSpan(src * size, size).CopyTo(x.Slice(i * size, size));
            y[i] = ds.Labels[src];
        }
    }
}
