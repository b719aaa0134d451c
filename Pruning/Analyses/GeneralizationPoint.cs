namespace SparseNet.Pruning.Analyses;

/// <summary>
/// Training and test metrics of one (branch, level) at the end of training, averaged over replicates (see
/// <see cref="Generalization.Summarize"/>). Train metrics are NaN where some replicate's result predates their
/// recording (results version 5).
/// </summary>
/// <param name="Branch">Branch name.</param>
/// <param name="Level">Level (for pruning at initialisation, the sparsity in thousandths).</param>
/// <param name="WeightsRemaining">Fraction of prunable weights kept.</param>
/// <param name="WeightsKept">Number of prunable weights kept (NaN when the layer sizes could not be read).</param>
/// <param name="TrainLoss">Loss on the training examples (evaluation mode).</param>
/// <param name="TrainAccuracy">Accuracy on the training examples.</param>
/// <param name="TestLoss">Test loss.</param>
/// <param name="TestAccuracy">Test accuracy.</param>
/// <param name="Replicates">Replicates averaged.</param>
public sealed record GeneralizationPoint(
    string Branch,
    int Level,
    double WeightsRemaining,
    double WeightsKept,
    double TrainLoss,
    double TrainAccuracy,
    double TestLoss,
    double TestAccuracy,
    int Replicates)
{
    /// <summary>The generalisation gap in accuracy: train accuracy − test accuracy.</summary>
    public double AccuracyGap => TrainAccuracy - TestAccuracy;

    /// <summary>The generalisation gap in loss: test loss − train loss.</summary>
    public double LossGap => TestLoss - TrainLoss;
}
