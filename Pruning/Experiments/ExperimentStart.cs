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
    /// <remarks><paramref name="hyperparameters"/> turns the configuration's JSON into the run's <c>hyperparameters.json</c> (default: as is).</remarks>
    public static ExperimentStart Open(LotteryConfig config, string runDirectory, string purpose, Action<ExperimentContext> validate, CancellationToken cancellation, Func<string, string>? hyperparameters = null)
    {
        string fingerprint = DatasetCatalog.Fingerprint(config.Recipe.Data);
        cancellation.ThrowIfCancellationRequested();
        var context = new ExperimentContext(config.Recipe, config.EvalEvery, config.Seed, cancellation);
        validate(context);
        using (DirectoryLock.Acquire(runDirectory, purpose, ShortHoldWait, cancellation))
        {
            AtomicFile.RemoveLeftovers(runDirectory, recursive: false);
            string json = config.ToJson(fingerprint);
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "hyperparameters.json"), hyperparameters is null ? json : hyperparameters(json));
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
    public ExperimentSummary WriteSummary() => UnderRunLock(() =>
    {
        var summary = LotteryExperiment.Summarize(_runDirectory);
        AtomicFile.WriteAllText(Path.Combine(_runDirectory, "summary.json"), summary.ToJson());
        return summary;
    });

    /// <summary>
    /// Runs <paramref name="write"/> under the run directory's short lock: a summary computed there has seen every
    /// unit any writer finished before it.
    /// </summary>
    public T UnderRunLock<T>(Func<T> write)
    {
        using (DirectoryLock.Acquire(_runDirectory, _purpose, ShortHoldWait, _cancellation))
        {
            return write();
        }
    }
}
