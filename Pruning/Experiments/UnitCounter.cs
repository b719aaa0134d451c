namespace SparseNet.Pruning.Experiments;

/// <summary>Counts finished units and forwards progress to the caller's callback.</summary>
internal sealed class UnitCounter(int total, Action<ExperimentProgress>? progress)
{
    private int _done;

    /// <summary>Reports an iteration of the unit being trained.</summary>
    public void Report(int replicate, int level, string branch, int iteration, int iterations) =>
        progress?.Invoke(new ExperimentProgress(replicate, level, branch, iteration, iterations, _done, total));

    /// <summary>Marks one more unit finished (trained now or found finished).</summary>
    public void Finish()
    {
        _done++;
        progress?.Invoke(new ExperimentProgress(-1, -1, string.Empty, 0, 0, _done, total));
    }
}
