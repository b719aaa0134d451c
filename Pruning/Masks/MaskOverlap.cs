namespace SparseNet.Pruning.Masks;

/// <summary>
/// How much two masks of the same layers agree: per layer and over all layers, the kept weights they share, their
/// Jaccard index |A∩B| / |A∪B|, and what independent random masks with the same kept counts would share by chance.
/// </summary>
/// <remarks>
/// A random mask that keeps k_A of a layer's n weights, drawn independently of one that keeps k_B, shares
/// E|A∩B| = k_A·k_B / n = p·q·n of them (p = k_A/n, q = k_B/n; exact for masks with those counts); the chance
/// Jaccard index is taken as the ratio of the expected intersection to the expected union, pq / (p + q − pq).
/// Over all layers, the sums of the layers' counts (and of their expectations) give the overall values.
/// </remarks>
public static class MaskOverlap
{
    /// <summary>Name of the row that sums every layer.</summary>
    public const string Overall = "overall";

    /// <summary>
    /// Compares <paramref name="a"/> and <paramref name="b"/> layer by layer (in <paramref name="a"/>'s order), then over
    /// all layers (last entry, named <see cref="Overall"/>). Both must mask the same tensors with the same shapes.
    /// </summary>
    public static IReadOnlyList<LayerOverlap> Compare(MaskSet a, MaskSet b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var other = b.Entries.ToDictionary(e => e.Name, e => e, StringComparer.Ordinal);
        var missing = a.Names.Where(n => !other.ContainsKey(n)).Concat(b.Names.Where(n => !a.Names.Contains(n))).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"mask overlap: the masks cover different tensors ({string.Join(", ", a.Names)} vs {string.Join(", ", b.Names)})");
        }

        var layers = new List<LayerOverlap>();
        foreach (var (name, shape, maskA) in a.Entries)
        {
            var (_, shapeB, maskB) = other[name];
            if (!shape.AsSpan().SequenceEqual(shapeB))
            {
                throw new ArgumentException($"mask overlap: {name} has shape [{string.Join(",", shape)}] in one mask and [{string.Join(",", shapeB)}] in the other");
            }

            long keptA = 0, keptB = 0, both = 0;
            for (int i = 0; i < maskA.Length; i++)
            {
                bool inA = maskA[i] != 0f, inB = maskB[i] != 0f;
                keptA += inA ? 1 : 0;
                keptB += inB ? 1 : 0;
                both += inA && inB ? 1 : 0;
            }

            layers.Add(new LayerOverlap(name, maskA.Length, keptA, keptB, both, maskA.Length == 0 ? 0 : keptA * (double)keptB / maskA.Length));
        }

        layers.Add(new LayerOverlap(
            Overall,
            layers.Sum(l => l.Size),
            layers.Sum(l => l.KeptA),
            layers.Sum(l => l.KeptB),
            layers.Sum(l => l.Intersection),
            layers.Sum(l => l.ChanceIntersection)));
        return layers;
    }
}
