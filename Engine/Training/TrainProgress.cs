namespace SparseNet.Engine.Training;

/// <summary>Where training stands after one iteration.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Iteration">Iterations done so far (1-based count).</param>
/// <param name="TotalIterations">Iterations planned.</param>
/// <param name="Loss">Training loss of the last batch.</param>
public readonly record struct TrainProgress(int Epoch, int Iteration, int TotalIterations, float Loss);
