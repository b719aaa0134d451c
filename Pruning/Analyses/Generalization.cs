using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Pruning.Analyses;

/// <summary>
/// Generalisation against sparsity: the final training loss and accuracy of every unit beside its test loss and
/// accuracy, the gap between them, and the number of weights left, straight from the units' results.
/// </summary>
public static class Generalization
{
    /// <summary>
    /// One point per (branch, level) of <paramref name="results"/>, means over replicates, ordered by branch (ordinal) and
    /// level. The count of weights kept comes from the layer sizes of a mask file under <paramref name="runDirectory"/>
    /// (NaN when there is none to read).
    /// </summary>
    public static IReadOnlyList<GeneralizationPoint> Summarize(IReadOnlyList<UnitResult> results, string? runDirectory)
    {
        ArgumentNullException.ThrowIfNull(results);
        var sizes = runDirectory is null ? null : LayerSizes(runDirectory);
        return results
            .GroupBy(u => (u.Branch, u.Level))
            .OrderBy(g => g.Key.Branch, StringComparer.Ordinal).ThenBy(g => g.Key.Level)
            .Select(g =>
            {
                var u = g.ToList();
                return new GeneralizationPoint(
                    g.Key.Branch,
                    g.Key.Level,
                    u.Average(x => x.WeightsRemaining),
                    u.Average(x => Kept(x, sizes)),
                    u.Average(x => x.TrainLoss),
                    u.Average(x => x.TrainAccuracy),
                    u.Average(x => x.TestLoss),
                    u.Average(x => x.TestAccuracy),
                    u.Count);
            })
            .ToList();
    }

    // Kept weights of a unit: its kept fraction of each layer times that layer's size (exact: the fraction is kept/size).
    private static double Kept(UnitResult unit, Dictionary<string, int>? sizes)
    {
        if (sizes is null)
        {
            return double.NaN;
        }

        long kept = 0;
        foreach (var (name, fraction) in unit.LayerWeightsRemaining)
        {
            if (!sizes.TryGetValue(name, out int size))
            {
                return double.NaN;
            }

            kept += (long)Math.Round(fraction * size, MidpointRounding.AwayFromZero);
        }

        return kept;
    }

    // Every unit of a run masks the same layers: the first mask file found gives their sizes.
    private static Dictionary<string, int>? LayerSizes(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            return null;
        }

        string? mask = Directory.GetDirectories(runDirectory, "replicate_*")
            .SelectMany(d => Directory.GetFiles(d, "mask.safetensors", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
        if (mask is null)
        {
            return null;
        }

        try
        {
            return SafeTensors.Read(mask).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Data.Length, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
