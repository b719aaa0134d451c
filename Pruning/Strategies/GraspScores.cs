namespace SparseNet.Pruning.Strategies;

/// <summary>GraSP's score −θ ⊙ Hg with the Hessian-gradient product Hg and the gradient g it came from, per tensor.</summary>
/// <param name="Score">−θ ⊙ Hg (the highest are removed).</param>
/// <param name="Hg">The exact Hessian-gradient product.</param>
/// <param name="G">The gradient (temperature-scaled logits, summed over the parts).</param>
public sealed record GraspScores(
    IReadOnlyDictionary<string, float[]> Score,
    IReadOnlyDictionary<string, float[]> Hg,
    IReadOnlyDictionary<string, float[]> G);
