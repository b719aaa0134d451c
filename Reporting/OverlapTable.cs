using System.Globalization;
using System.Text;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// Formats the overlap of tickets (<see cref="TicketOverlap"/>) as plain text: per level, a row per layer and one for
/// all layers with the observed Jaccard index (mean ± std over pairs of tickets) beside the one expected of
/// independent random masks of the same densities, then each ticket's test accuracy.
/// </summary>
public static class OverlapTable
{
    /// <summary>The table as text, culture-invariant; lines separated by <c>\n</c>, ending with one.</summary>
    public static string Format(TicketOverlapSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var text = new StringBuilder();
        text.Append("Ticket overlap: ").Append(summary.Description).Append('\n');
        text.Append("Jaccard |A∩B|/|A∪B| of the kept weights, observed (mean ± std over pairs) and by chance (independent random masks of the same per-layer densities p, q: E|A∩B| = pqn, Jaccard pq/(p+q−pq))\n");
        string[] header = ["layer", "weights", "kept %", "|A∩B|", "chance |A∩B|", "Jaccard", "chance", "observed/chance"];
        foreach (var level in summary.Levels)
        {
            text.Append('\n').Append(string.Create(CultureInfo.InvariantCulture, $"level {level.Level}, {ReportTable.RowLabel(100 * level.WeightsRemaining)}% of weights, {level.Pairs.Count} pair(s)")).Append('\n');
            var rows = TicketOverlapSummary.Rows(level).Select(r => new[]
            {
                r.Name,
                r.Size.ToString(CultureInfo.InvariantCulture),
                (100 * r.Density).ToString("0.00", CultureInfo.InvariantCulture),
                r.Intersection.ToString("0", CultureInfo.InvariantCulture),
                r.ChanceIntersection.ToString("0", CultureInfo.InvariantCulture),
                level.Pairs.Count > 1
                    ? r.Jaccard.ToString("0.0000", CultureInfo.InvariantCulture) + " ± " + r.JaccardStd.ToString("0.0000", CultureInfo.InvariantCulture)
                    : r.Jaccard.ToString("0.0000", CultureInfo.InvariantCulture),
                r.ChanceJaccard.ToString("0.0000", CultureInfo.InvariantCulture),
                r.ChanceJaccard > 0 ? (r.Jaccard / r.ChanceJaccard).ToString("0.00", CultureInfo.InvariantCulture) : "-",
            }).ToList();
            var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(r => r[c].Length))).ToArray();
            text.Append(Line(header, widths)).Append('\n');
            text.Append(new string('-', widths.Sum() + (2 * (widths.Length - 1)))).Append('\n');
            foreach (var row in rows)
            {
                text.Append(Line(row, widths)).Append('\n');
            }

            text.Append("test accuracy (%): ")
                .AppendJoin(", ", level.TestAccuracies.Select(t => t.Ticket + " " + (100 * t.TestAccuracy).ToString("0.00", CultureInfo.InvariantCulture)))
                .Append('\n');
        }

        return text.ToString();
    }

    // The first column left-aligned, the numbers right-aligned.
    private static string Line(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
}
