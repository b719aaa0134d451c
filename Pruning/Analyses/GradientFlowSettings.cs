using System.Globalization;
using SparseNet.Engine;

namespace SparseNet.Pruning.Analyses;

/// <summary>How <see cref="GradientFlowAnalysis"/> measures: on which training batches, with which SGD step.</summary>
public sealed record GradientFlowSettings
{
    /// <summary>Training batches (of the run's batch size) the loss and gradient average over.</summary>
    public int Batches { get; init; } = 10;

    /// <summary>Step size η of the measured SGD steps w − η g and w − η m ⊙ g.</summary>
    public double Step { get; init; } = 1e-3;

    /// <summary>Seed of the order the batches are drawn in (the same seed gives the same batches).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        if (Batches < 1)
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--batches must be ≥ 1, got {Batches}"));
        }

        if (!(Step > 0) || !double.IsFinite(Step))
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--step must be a positive finite number, got {Step}"));
        }
    }
}
