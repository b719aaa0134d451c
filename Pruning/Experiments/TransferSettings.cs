namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Ticket transfer in a lottery experiment: beside its own levels, the experiment trains, for each chosen level of the
/// source run, replicate r's ticket of the source (its mask and θ₀) on this experiment's data, and a random mask of
/// the same per-layer densities on the same θ₀ (see <see cref="TransferSource"/>).
/// </summary>
public sealed record TransferSettings
{
    /// <summary>The source lottery run's directory.</summary>
    public required string From { get; init; }

    /// <summary>The source's levels to transfer; empty: every pruned level replicate 0 of the source has finished.</summary>
    public IReadOnlyList<int> Levels { get; init; } = [];
}
