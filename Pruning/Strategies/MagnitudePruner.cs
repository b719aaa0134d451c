using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Strategies;

/// <summary>
/// Magnitude pruning: removes the surviving weights with the smallest scores (|θ| for IMP), exactly
/// round(p·n) of the n survivors, layer by layer or with one threshold across layers. The threshold is an
/// O(n) order statistic; ties at the threshold are broken by position (earlier layer, then lower index,
/// pruned first), so a level's mask is a pure function of the scores.
/// </summary>
public static class MagnitudePruner
{
    /// <summary>Number pruned from <paramref name="survivors"/> at rate <paramref name="rate"/>: round(rate·n), halves away from zero.</summary>
    internal static int CountToPrune(long survivors, double rate)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new ArgumentException($"prune: rate {rate} must be in [0, 1]");
        }

        return (int)Math.Round(rate * survivors, MidpointRounding.AwayFromZero);
    }

    /// <summary>Prunes each layer at its own rate (<paramref name="rateOf"/> by parameter name) among its survivors.</summary>
    public static MaskSet Layerwise(MaskSet current, IReadOnlyDictionary<string, float[]> scores, Func<string, double> rateOf)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(rateOf);
        var next = Copy(current);
        foreach (var (name, _, mask) in next.Entries)
        {
            var group = new List<(float[] Scores, float[] Mask)> { (ScoresOf(scores, name, mask.Length), mask) };
            PruneLowest(group, CountToPrune(MaskSet.Kept(mask), rateOf(name)));
        }

        return next;
    }

    /// <summary>Prunes round(rate·n) of all n survivors across layers with one threshold.</summary>
    public static MaskSet Global(MaskSet current, IReadOnlyDictionary<string, float[]> scores, double rate)
    {
        ArgumentNullException.ThrowIfNull(current);
        return GlobalCount(current, scores, CountToPrune(current.KeptCount, rate));
    }

    /// <summary>Prunes exactly <paramref name="count"/> of the survivors across layers, lowest scores first.</summary>
    public static MaskSet GlobalCount(MaskSet current, IReadOnlyDictionary<string, float[]> scores, int count)
    {
        ArgumentNullException.ThrowIfNull(current);
        var next = Copy(current);
        PruneLowest(next.Entries.Select(e => (ScoresOf(scores, e.Name, e.Mask.Length), e.Mask)).ToList(), count);
        return next;
    }

    /// <summary>
    /// Sets to 0 the mask entries of the <paramref name="count"/> lowest-scoring survivors across the groups,
    /// seen as one sequence in group order.
    /// </summary>
    internal static void PruneLowest(IReadOnlyList<(float[] Scores, float[] Mask)> groups, int count)
    {
        if (count <= 0)
        {
            return;
        }

        long survivors = groups.Sum(g => (long)MaskSet.Kept(g.Mask));
        if (count > survivors)
        {
            throw new ArgumentException($"prune: cannot prune {count} of {survivors} surviving weights");
        }

        var alive = new float[survivors];
        int n = 0;
        foreach (var (s, mask) in groups)
        {
            for (int i = 0; i < mask.Length; i++)
            {
                if (mask[i] != 0f)
                {
                    float v = s[i];
                    if (float.IsNaN(v))
                    {
                        throw new ArgumentException($"prune: score at index {i} is NaN");
                    }

                    alive[n++] = v;
                }
            }
        }

        float threshold = Tensor.FromArray(alive, alive.Length).KthSmallest(count - 1);

        // Everything strictly below the threshold goes; then survivors equal to it, in order, until count.
        int pruned = 0;
        foreach (var (s, mask) in groups)
        {
            for (int i = 0; i < mask.Length; i++)
            {
                if (mask[i] != 0f && s[i] < threshold)
                {
                    mask[i] = 0f;
                    pruned++;
                }
            }
        }

        foreach (var (s, mask) in groups)
        {
            for (int i = 0; i < mask.Length && pruned < count; i++)
            {
                if (mask[i] != 0f && s[i] == threshold)
                {
                    mask[i] = 0f;
                    pruned++;
                }
            }
        }
    }

    private static float[] ScoresOf(IReadOnlyDictionary<string, float[]> scores, string name, int length)
    {
        if (!scores.TryGetValue(name, out var s))
        {
            throw new ArgumentException($"prune: no scores for '{name}'");
        }

        if (s.Length != length)
        {
            throw new ArgumentException($"prune: {s.Length} scores for '{name}' but its mask has {length} entries");
        }

        return s;
    }

    private static MaskSet Copy(MaskSet m) => new(m.Entries.Select(e => (e.Name, (int[])e.Shape.Clone(), (float[])e.Mask.Clone())));
}
