namespace SparseNet.Pruning.Masks;

/// <summary>The overlap of two masks in one layer (or, named <see cref="MaskOverlap.Overall"/>, summed over all layers).</summary>
/// <param name="Name">Tensor name (e.g. <c>fc1.weight</c>) or <see cref="MaskOverlap.Overall"/>.</param>
/// <param name="Size">Weights n the masks cover.</param>
/// <param name="KeptA">Weights the first mask keeps.</param>
/// <param name="KeptB">Weights the second mask keeps.</param>
/// <param name="Intersection">Weights both keep, |A∩B|.</param>
/// <param name="ChanceIntersection">
/// |A∩B| expected of independent random masks with these kept counts: k_A·k_B / n = p·q·n in a layer; over all layers,
/// the sum of the layers' expectations.
/// </param>
public sealed record LayerOverlap(string Name, long Size, long KeptA, long KeptB, long Intersection, double ChanceIntersection)
{
    /// <summary>Weights either keeps, |A∪B|.</summary>
    public long Union => KeptA + KeptB - Intersection;

    /// <summary>|A∩B| / |A∪B| (1 when both keep nothing).</summary>
    public double Jaccard => Union == 0 ? 1 : Intersection / (double)Union;

    /// <summary>Fraction of the weights the first mask keeps, p.</summary>
    public double DensityA => Size == 0 ? 1 : KeptA / (double)Size;

    /// <summary>Fraction of the weights the second mask keeps, q.</summary>
    public double DensityB => Size == 0 ? 1 : KeptB / (double)Size;

    /// <summary>The expected intersection over the expected union, E|A∩B| / (k_A + k_B − E|A∩B|): pq / (p + q − pq) in a layer.</summary>
    public double ChanceJaccard
    {
        get
        {
            double union = KeptA + KeptB - ChanceIntersection;
            return union == 0 ? 1 : ChanceIntersection / union;
        }
    }
}
