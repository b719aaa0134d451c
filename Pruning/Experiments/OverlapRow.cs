using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>One layer (or overall) of a level, over its pairs of tickets.</summary>
/// <param name="Name">Tensor name or <see cref="MaskOverlap.Overall"/>.</param>
/// <param name="Size">Weights in the layer.</param>
/// <param name="Density">Mean fraction kept.</param>
/// <param name="Intersection">Mean |A∩B|.</param>
/// <param name="ChanceIntersection">Mean |A∩B| expected by chance.</param>
/// <param name="Jaccard">Mean observed Jaccard index.</param>
/// <param name="JaccardStd">Its standard deviation over pairs (0 for one pair).</param>
/// <param name="ChanceJaccard">Mean Jaccard index expected by chance.</param>
public sealed record OverlapRow(string Name, long Size, double Density, double Intersection, double ChanceIntersection, double Jaccard, double JaccardStd, double ChanceJaccard);
