namespace SparseNet.Engine.Training;

/// <summary>Metrics at the end of one epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Iteration">Iterations done at the end of this epoch.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches.</param>
/// <param name="Test">Loss and accuracy on the test set.</param>
public readonly record struct EpochResult(int Epoch, int Iteration, double TrainLoss, EvalResult Test);
