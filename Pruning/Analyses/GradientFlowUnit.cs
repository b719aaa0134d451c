namespace SparseNet.Pruning.Analyses;

/// <summary>The gradient flow of one unit (replicate, level, branch) of a run, at the weights its training started from.</summary>
/// <param name="Path">The unit's folder relative to the run directory, with forward slashes (e.g. <c>replicate_0/level_03/lottery</c>).</param>
/// <param name="Branch">Branch name (<c>lottery</c>, <c>random_prune</c>, <c>snip</c>, ...).</param>
/// <param name="Replicate">Replicate index.</param>
/// <param name="Level">Level (for pruning at initialisation, the sparsity in thousandths).</param>
/// <param name="WeightsRemaining">Fraction of prunable weights the mask keeps.</param>
/// <param name="TestAccuracy">The unit's test accuracy at the end of training, from its <c>result.json</c>.</param>
/// <param name="InitSha256">SHA-256 of the unit's <c>init.safetensors</c> measured at.</param>
/// <param name="MaskSha256">SHA-256 of the unit's <c>mask.safetensors</c>.</param>
/// <param name="Measure">What was measured.</param>
public sealed record GradientFlowUnit(
    string Path,
    string Branch,
    int Replicate,
    int Level,
    double WeightsRemaining,
    double TestAccuracy,
    string InitSha256,
    string MaskSha256,
    GradientFlowMeasure Measure);
