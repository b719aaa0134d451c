namespace SparseNet.Pruning.Experiments;

/// <summary>Where an experiment stands: the unit being trained and its iteration.</summary>
/// <param name="Replicate">Replicate index.</param>
/// <param name="Level">Level.</param>
/// <param name="Branch">Branch name.</param>
/// <param name="Iteration">Iterations done in this unit.</param>
/// <param name="UnitIterations">Iterations this unit trains.</param>
/// <param name="UnitsDone">Units finished (or found finished) so far.</param>
/// <param name="UnitsTotal">Units in the experiment.</param>
public readonly record struct ExperimentProgress(int Replicate, int Level, string Branch, int Iteration, int UnitIterations, int UnitsDone, int UnitsTotal);
