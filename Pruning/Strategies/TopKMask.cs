using SparseNet.Engine.Tensors;

namespace SparseNet.Pruning.Strategies;

/// <summary>
/// The supermask of one layer: a 0/1 mask keeping exactly the k entries of largest |score|. Ties at the threshold
/// are kept in index order (lower index first), so the mask is a pure function of the scores and k.
/// </summary>
public static class TopKMask
{
    /// <summary>Weights a layer of <paramref name="size"/> keeps at <paramref name="density"/>: round(density·size), halves away from zero (as <see cref="RandomMasks.Uniform"/>).</summary>
    public static int KeptCount(int size, double density)
    {
        if (!(density > 0 && density <= 1))
        {
            throw new ArgumentException($"supermask: density {density} must be in (0, 1]");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return (int)Math.Round(density * size, MidpointRounding.AwayFromZero);
    }

    /// <summary>
    /// Writes into <paramref name="mask"/> 1 at the <paramref name="k"/> entries of largest |<paramref name="scores"/>| and 0
    /// elsewhere; <paramref name="magnitudes"/> (a CPU tensor of as many elements as there are scores) is overwritten
    /// with |scores| and gives the threshold through the engine's selection primitive.
    /// </summary>
    /// <exception cref="ArgumentException">A score is NaN, lengths differ, or k is outside [0, n].</exception>
    public static void Keep(ReadOnlySpan<float> scores, int k, Span<float> mask, Tensor magnitudes)
    {
        ArgumentNullException.ThrowIfNull(magnitudes);
        int n = scores.Length;
        if (mask.Length != n || magnitudes.Size != n)
        {
            throw new ArgumentException($"supermask: {n} scores, {mask.Length} mask entries and {magnitudes.Size} magnitudes; the mask and the magnitudes must match the scores");
        }

        if (k < 0 || k > n)
        {
            throw new ArgumentException($"supermask: cannot keep {k} of {n} weights");
        }

        mask.Clear();
        if (k == 0)
        {
            return;
        }

        var values = magnitudes.Span;
        for (int i = 0; i < n; i++)
        {
            float s = scores[i];
            if (float.IsNaN(s))
            {
                throw new ArgumentException($"supermask: score at index {i} is NaN");
            }

            values[i] = MathF.Abs(s);
        }

        // The smallest kept magnitude: the (n − k)-th smallest (0-based). Everything above it is kept, then
        // entries equal to it in index order until k are kept.
        float threshold = magnitudes.KthSmallest(n - k);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            if (values[i] > threshold)
            {
                mask[i] = 1f;
                kept++;
            }
        }

        for (int i = 0; i < n && kept < k; i++)
        {
            if (values[i] == threshold)
            {
                mask[i] = 1f;
                kept++;
            }
        }
    }

    /// <summary>A new mask keeping the <paramref name="k"/> entries of largest |<paramref name="scores"/>| (see <see cref="Keep(ReadOnlySpan{float}, int, Span{float}, Tensor)"/>).</summary>
    public static float[] Keep(ReadOnlySpan<float> scores, int k)
    {
        var mask = new float[scores.Length];
        Keep(scores, k, mask, Tensor.Zeros(scores.Length));
        return mask;
    }
}
