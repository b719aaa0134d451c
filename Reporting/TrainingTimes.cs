using System.Globalization;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>The wall-clock training time of a run's units (their <c>time.json</c>), by level or rewind iteration.</summary>
public static class TrainingTimes
{
    /// <summary>
    /// One line: the mean training seconds of a unit at each level (<c>level_NN</c>) or rewind iteration (<c>k_…</c>,
    /// and the trunk), over branches and replicates, each pruned level with its speed-up over the dense level 0, and the
    /// total; empty when no unit recorded its time.
    /// </summary>
    public static string Format(string runDirectory)
    {
        var groups = Directory.GetFiles(runDirectory, UnitTime.FileName, SearchOption.AllDirectories)
            .Select(f => Path.GetDirectoryName(f)!)
            .Select(d => (Group: GroupOf(runDirectory, d), Seconds: UnitTime.Read(d)))
            .Where(x => x.Seconds is not null && x.Group is not null)
            .GroupBy(x => x.Group!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        if (groups.Count == 0)
        {
            return string.Empty;
        }

        double total = groups.Sum(g => g.Sum(x => x.Seconds!.Value));
        double? dense = groups.FirstOrDefault(g => g.Key == DenseLevel)?.Average(x => x.Seconds!.Value);
        string parts = string.Join(", ", groups.Select(g =>
        {
            double mean = g.Average(x => x.Seconds!.Value);
            string speedUp = dense is > 0 && g.Key != DenseLevel && g.Key.StartsWith("level_", StringComparison.Ordinal) && mean > 0
                ? string.Create(CultureInfo.InvariantCulture, $" ({dense.Value / mean:F1}×)")
                : string.Empty;
            return string.Create(CultureInfo.InvariantCulture, $"{g.Key} {mean:F1}{speedUp}");
        }));
        string legend = dense is > 0 && groups.Count(g => g.Key.StartsWith("level_", StringComparison.Ordinal)) > 1 ? " (× the dense level's speed)" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"training time, mean seconds per unit{legend}: {parts}; {total:F0} s in all");
    }

    private const string DenseLevel = "level_00";

    // replicate_r/level_NN/branch → level_NN; replicate_r/k_…/copy → k_…; replicate_r/trunk → trunk.
    private static string? GroupOf(string runDirectory, string unitDirectory)
    {
        var parts = Path.GetRelativePath(runDirectory, unitDirectory).Split(Path.DirectorySeparatorChar);
        return parts.Length >= 2 ? parts[1] : null;
    }
}
