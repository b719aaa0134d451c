namespace SparseNet.Pruning.Strategies;

/// <summary>The frozen random weights a supermask is searched on (Ramanujan et al. 2020, Section 4).</summary>
public enum SupermaskWeights
{
    /// <summary>
    /// Signed Kaiming constant: every weight is ±σ with σ = √(2/fan_in), its sign that of a Kaiming normal draw
    /// (so both choices share the same signs for a seed); the paper's best.
    /// </summary>
    SignedConstant,

    /// <summary>Kaiming normal: N(0, 2/fan_in), as drawn.</summary>
    KaimingNormal,
}
