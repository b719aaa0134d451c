using System.Globalization;
using System.Text;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Reporting;

/// <summary>
/// The sanity checks of Frankle et al. (2021, "Pruning neural networks at initialization: why are we missing
/// the mark?") side by side: each method's mask against the same mask shuffled within each layer, the same
/// mask on reinitialised weights, and the inverted ranking. A method whose mask survives shuffling and
/// reinitialisation has found good per-layer densities, not a ticket.
/// </summary>
public static class SanityTable
{
    private static IReadOnlyList<string> Checks => PruneAtInitSettings.KnownSanityChecks;

    /// <summary>
    /// True for branches that are sanity checks of a pruning-at-initialisation method (<c>snip_shuffle</c>,
    /// <c>grasp_invert</c>, ...); IMP's own baselines (<c>random_reinit</c>, <c>shuffle</c>) are not.
    /// </summary>
    public static bool IsSanityBranch(string branch)
    {
        ArgumentNullException.ThrowIfNull(branch);
        return InitPruner.Methods.Any(m => Checks.Any(c => branch == PruneAtInitSettings.SanityBranch(m, c)));
    }

    /// <summary>
    /// Test accuracy of each pruning-at-initialisation method at <paramref name="sparsity"/> (default 95%)
    /// and of IMP tickets nearest <paramref name="impRemaining"/> weights remaining (default 7%), next to
    /// their checks; empty when the summary holds no checks. The header names what the rows show: the IMP
    /// level and its weights remaining, which a short run may leave far from <paramref name="impRemaining"/>.
    /// </summary>
    public static string Format(ExperimentSummary summary, double sparsity = 0.95, double impRemaining = 0.07)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var rows = new List<string[]>();
        var shown = new List<string>();
        int level = PruneAtInitExperiment.LevelOf(sparsity);
        foreach (var (name, points) in summary.Branches.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (IsSanityBranch(name) || !InitPruner.Methods.Contains(name) || !Checks.Any(c => summary.Branches.ContainsKey(PruneAtInitSettings.SanityBranch(name, c))))
            {
                continue;
            }

            var at = points.FirstOrDefault(p => p.Level == level);
            if (at is null)
            {
                continue;
            }

            rows.Add([name, Percent(at.WeightsRemaining), Accuracy(at), .. Checks.Select(c => Accuracy(summary.Branches.GetValueOrDefault(PruneAtInitSettings.SanityBranch(name, c))?.FirstOrDefault(p => p.Level == level)))]);
        }

        if (rows.Count > 0)
        {
            shown.Add(string.Create(CultureInfo.InvariantCulture, $"pruning at initialisation at {sparsity * 100:F0}% sparsity"));
        }

        if (summary.Branches.TryGetValue(LotteryExperiment.LotteryBranch, out var lottery) && lottery.Count > 1 &&
            (summary.Branches.ContainsKey("shuffle") || summary.Branches.ContainsKey("random_reinit")))
        {
            var ticket = lottery.Where(p => p.Level > 0).MinBy(p => Math.Abs(p.WeightsRemaining - impRemaining))!;
            LevelPoint? Branch(string b) => summary.Branches.GetValueOrDefault(b)?.FirstOrDefault(p => p.Level == ticket.Level);
            rows.Add(["lottery (IMP)", Percent(ticket.WeightsRemaining), Accuracy(ticket), Accuracy(Branch("shuffle")), Accuracy(Branch("random_reinit")), "-"]);

            // A short run may stop far from the level asked for: the header names the one shown.
            shown.Add(string.Create(CultureInfo.InvariantCulture, $"IMP tickets at {Percent(ticket.WeightsRemaining)}% weights remaining (level {ticket.Level}; the nearest to {Percent(impRemaining)}%)"));
        }

        if (rows.Count == 0)
        {
            return string.Empty;
        }

        string[] header = ["mask", "weights %", "test acc %", "shuffled", "reinit", "inverted"];
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Sanity checks (test accuracy %): {string.Join(", ", shown)}");
        sb.AppendLine(Line(header, widths));
        sb.AppendLine(new string('-', widths.Sum() + (2 * (widths.Length - 1))));
        foreach (var r in rows)
        {
            sb.AppendLine(Line(r, widths));
        }

        return sb.ToString().TrimEnd();
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();

    private static string Percent(double fraction) => (fraction * 100).ToString("F1", CultureInfo.InvariantCulture);

    private static string Accuracy(LevelPoint? p) => p is null
        ? "-"
        : p.Replicates > 1
            ? string.Create(CultureInfo.InvariantCulture, $"{p.TestAccuracy * 100:F2} ± {p.TestAccuracyStd * 100:F2}")
            : (p.TestAccuracy * 100).ToString("F2", CultureInfo.InvariantCulture);
}
