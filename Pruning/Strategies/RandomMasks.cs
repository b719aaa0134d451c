using SparseNet.Engine.Random;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Strategies;

/// <summary>Masks for the baselines: random pruning at given per-layer densities, and layerwise shuffles.</summary>
public static class RandomMasks
{
    /// <summary>
    /// A mask keeping exactly as many weights per layer as <paramref name="like"/>, at positions drawn
    /// uniformly from the masks stream of <paramref name="seed"/>.
    /// </summary>
    public static MaskSet SameDensity(MaskSet like, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(like);
        var rng = new Philox(seed, RngStreams.Masks);
        return new MaskSet(like.Entries.Select(e =>
        {
            int kept = MaskSet.Kept(e.Mask);
            var order = rng.Permutation(e.Mask.Length);
            var mask = new float[e.Mask.Length];
            for (int i = 0; i < kept; i++)
            {
                mask[order[i]] = 1f;
            }

            return (e.Name, (int[])e.Shape.Clone(), mask);
        }));
    }

    /// <summary>Uniform random pruning: each layer keeps round(density·n) of its n weights, at random positions.</summary>
    public static MaskSet Uniform(MaskSet dense, double density, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dense);
        if (!(density >= 0 && density <= 1))
        {
            throw new ArgumentException($"random pruning: density {density} must be in [0, 1]");
        }

        var target = new MaskSet(dense.Entries.Select(e =>
        {
            int kept = (int)Math.Round(density * e.Mask.Length, MidpointRounding.AwayFromZero);
            var mask = new float[e.Mask.Length];
            mask.AsSpan(0, kept).Fill(1f);
            return (e.Name, (int[])e.Shape.Clone(), mask);
        }));
        return SameDensity(target, seed);
    }

    /// <summary>Each layer's mask with its entries permuted at random (the layerwise-shuffle sanity check).</summary>
    public static MaskSet Shuffle(MaskSet masks, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(masks);
        var rng = new Philox(seed, RngStreams.Masks);
        return new MaskSet(masks.Entries.Select(e =>
        {
            var mask = (float[])e.Mask.Clone();
            rng.Shuffle(mask.AsSpan());
            return (e.Name, (int[])e.Shape.Clone(), mask);
        }));
    }
}
