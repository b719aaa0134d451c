using SparseNet.Engine.Data;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// How every experiment uses its run directory. Before anything is written, the data is loaded and the whole
/// plan is checked against it. The run directory's own files (<c>hyperparameters.json</c>, <c>summary.json</c>)
/// are written under a short lock on it; each replicate's folder is locked for as long as its units train, so
/// one process writes a replicate at a time while shards of a grid (<see cref="Shard"/>) run other replicates of
/// the same directory beside it. Only a lock's holder clears the temporary files a killed writer left in what
/// it locked.
/// </summary>
internal sealed class ExperimentStart
{
    // Short holds (settings, a summary, a report's plots) are waited for; a replicate's long hold is not.
    private static readonly TimeSpan ShortHoldWait = TimeSpan.FromSeconds(120);

    private readonly string _runDirectory;
    private readonly string _purpose;
    private readonly CancellationToken _cancellation;

    private ExperimentStart(ExperimentContext context, string runDirectory, string purpose, CancellationToken cancellation)
    {
        Context = context;
        _runDirectory = runDirectory;
        _purpose = purpose;
        _cancellation = cancellation;
    }

    /// <summary>The loaded data and training code.</summary>
    public ExperimentContext Context { get; }

    /// <summary>
    /// Opens <paramref name="runDirectory"/> for <paramref name="config"/>; <paramref name="validate"/> checks the
    /// plan against the loaded data (throwing <see cref="Engine.SettingsException"/>) before the directory is touched.
    /// </summary>
    public static ExperimentStart Open(LotteryConfig config, string runDirectory, string purpose, int rewindIteration, Action<ExperimentContext> validate, CancellationToken cancellation)
    {
        string fingerprint = DatasetCatalog.Fingerprint(config.Recipe.Data);
        cancellation.ThrowIfCancellationRequested();
        var context = new ExperimentContext(config.Recipe, config.EvalEvery, rewindIteration, config.Seed, cancellation);
        validate(context);
        using (DirectoryLock.Acquire(runDirectory, purpose, ShortHoldWait, cancellation))
        {
            AtomicFile.RemoveLeftovers(runDirectory, recursive: false);
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "hyperparameters.json"), config.ToJson(fingerprint));
        }

        return new ExperimentStart(context, runDirectory, purpose, cancellation);
    }

    /// <summary>
    /// Locks the folder of <paramref name="replicate"/> for training (refused, naming the holder, while another
    /// process trains it) and clears what a killed writer left there.
    /// </summary>
    public IDisposable Replicate(int replicate)
    {
        string directory = Path.Combine(_runDirectory, $"replicate_{replicate}");
        var held = DirectoryLock.Acquire(directory, _purpose);
        AtomicFile.RemoveLeftovers(directory);
        return held;
    }

    /// <summary>Writes the summary of every unit finished so far (any process's) and returns it.</summary>
    public ExperimentSummary WriteSummary()
    {
        using (DirectoryLock.Acquire(_runDirectory, _purpose, ShortHoldWait, _cancellation))
        {
            // Computed under the lock: the last writer has seen every unit any writer finished before it.
            var summary = LotteryExperiment.Summarize(_runDirectory);
            AtomicFile.WriteAllText(Path.Combine(_runDirectory, "summary.json"), summary.ToJson());
            return summary;
        }
    }
}
