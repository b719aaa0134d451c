using SparseNet.Engine.Data;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// How every experiment opens its run directory: load the data, check the whole plan against it before
/// anything is trained or written, take the directory's lock (one writer per run directory), clear what a
/// killed run left half-written, and record the settings.
/// </summary>
internal sealed class ExperimentStart : IDisposable
{
    private readonly DirectoryLock _lock;

    private ExperimentStart(ExperimentContext context, DirectoryLock held)
    {
        Context = context;
        _lock = held;
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
        var held = DirectoryLock.Acquire(runDirectory, purpose);
        try
        {
            // Only the lock's holder may clear temporary files: those of a live writer are never touched, and a
            // killed writer's are leftovers.
            AtomicFile.RemoveLeftovers(runDirectory);
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "hyperparameters.json"), config.ToJson(fingerprint));
            return new ExperimentStart(context, held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>Releases the run directory.</summary>
    public void Dispose() => _lock.Dispose();
}
