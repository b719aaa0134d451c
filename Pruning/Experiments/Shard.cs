using System.Globalization;
using SparseNet.Engine;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// One of <see cref="Count"/> processes sharing an experiment grid (e.g. the tasks of a Slurm job array or a
/// Kubernetes Indexed Job). Replicates are dealt out deterministically, replicate r to shard r mod n: a
/// replicate's units depend on each other (a level's mask comes from the level before it), replicates do not.
/// Shards may run at the same time on one shared run directory; each replicate is locked by the shard running it.
/// </summary>
/// <param name="Index">This shard, 0-based.</param>
/// <param name="Count">Number of shards.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole grid in one process.</summary>
    public static Shard All => new(0, 1);

    /// <summary>Whether this shard runs <paramref name="replicate"/>.</summary>
    public bool Owns(int replicate) => replicate % Count == Index;

    /// <summary>The replicates of an experiment of <paramref name="replicates"/> that this shard runs.</summary>
    public IEnumerable<int> Replicates(int replicates) => Enumerable.Range(0, replicates).Where(Owns);

    /// <summary>Parses <c>i/n</c> (0 ≤ i &lt; n), e.g. <c>0/3</c>.</summary>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            && count >= 1 && index < count)
        {
            return new Shard(index, count);
        }

        throw new SettingsException($"shard '{text}' is not i/n with 0 ≤ i < n (e.g. 0/3, or $SLURM_ARRAY_TASK_ID/3)");
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
