namespace SparseNet.Pruning.Experiments;

/// <summary>
/// One point of a branch in an experiment summary: a pruning level's results averaged over replicates,
/// each with its standard deviation across replicates (0 for a single replicate).
/// </summary>
/// <param name="Level">Pruning level (0 = dense).</param>
/// <param name="WeightsRemaining">Fraction of prunable weights kept, in (0, 1].</param>
/// <param name="TestAccuracy">Test accuracy at the end of training, as a fraction.</param>
/// <param name="TestAccuracyStd">Its standard deviation across replicates.</param>
/// <param name="EarlyStopIteration">Iteration of minimum validation loss.</param>
/// <param name="EarlyStopIterationStd">Its standard deviation across replicates.</param>
/// <param name="EarlyStopTestAccuracy">Test accuracy at the early-stopping iteration.</param>
/// <param name="EarlyStopTestAccuracyStd">Its standard deviation across replicates.</param>
/// <param name="Replicates">How many replicates the averages cover.</param>
/// <param name="Diverged">How many of them diverged (a non-finite loss or weight stopped their training).</param>
/// <param name="AtChance">How many ended finite but no better than guessing the most common class.</param>
public sealed record LevelPoint(
    int Level,
    double WeightsRemaining,
    double TestAccuracy,
    double TestAccuracyStd,
    double EarlyStopIteration,
    double EarlyStopIterationStd,
    double EarlyStopTestAccuracy,
    double EarlyStopTestAccuracyStd,
    int Replicates,
    int Diverged = 0,
    int AtChance = 0);
