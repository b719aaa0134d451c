using System.Globalization;
using System.Text;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// Formats an experiment's summary as plain text for a terminal: one block per metric (test accuracy,
/// early-stopping iteration, test accuracy at early stop), each with a row per weights-remaining
/// percentage and a column per branch.
/// </summary>
public static class ReportTable
{
    /// <summary>Widest line the table aims for; branches beyond it continue in a further block.</summary>
    internal const int MaxWidth = 120;

    private const string Missing = "-";
    private const string RowHeader = "weights %";
    private const string ColumnGap = "  ";

    private sealed record Metric(string Title, Func<LevelPoint, double> Value, Func<LevelPoint, double> Std, string Format);

    private static readonly Metric[] Metrics =
    [
        new("Test accuracy (%)", p => 100 * p.TestAccuracy, p => 100 * p.TestAccuracyStd, "0.00"),
        new("Early-stop iteration", p => p.EarlyStopIteration, p => p.EarlyStopIterationStd, "0"),
        new("Test accuracy at early stop (%)", p => 100 * p.EarlyStopTestAccuracy, p => 100 * p.EarlyStopTestAccuracyStd, "0.00"),
    ];

    /// <summary>
    /// The table as text, culture-invariant. Rows are the distinct weights-remaining percentages of all branches
    /// (largest first, 1 decimal: <c>100.0</c>, <c>80.0</c>, ..., <c>3.6</c>; 2 decimals below 1%); a cell shows
    /// the mean and, where the point has more than one replicate, <c>± std</c>; <c>-</c> where a branch has no
    /// point at that percentage. Accuracies are percentages with 2 decimals, iterations whole numbers.
    /// </summary>
    /// <param name="summary">The experiment's results.</param>
    /// <returns>Lines separated by <c>\n</c>, ending with one.</returns>
    public static string Format(ExperimentSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var names = BranchOrder.Sort(summary.Branches.Where(kv => kv.Value.Count > 0).Select(kv => kv.Key));
        if (names.Count == 0)
        {
            return "(no results)\n";
        }

        // Rows are keyed by their label so that branches whose fractions differ only past the shown
        // decimals (e.g. a random mask of the same size) share a row.
        var rows = summary.Branches.Values.SelectMany(ps => ps)
            .Select(p => 100 * p.WeightsRemaining)
            .OrderByDescending(pct => pct)
            .Select(RowLabel)
            .Distinct()
            .ToList();

        var text = new StringBuilder();
        foreach (var metric in Metrics)
        {
            var columns = names.Select(name => Column(name, summary.Branches[name], metric, rows)).ToList();
            int rowHeaderWidth = Math.Max(RowHeader.Length, rows.Max(r => r.Length));

            // Split the branches into blocks that fit MaxWidth (each block keeps at least one branch).
            int start = 0;
            while (start < columns.Count)
            {
                int width = rowHeaderWidth;
                int end = start;
                while (end < columns.Count && (end == start || width + ColumnGap.Length + columns[end].Width <= MaxWidth))
                {
                    width += ColumnGap.Length + columns[end].Width;
                    end++;
                }

                if (text.Length > 0)
                {
                    text.Append('\n');
                }

                text.Append(metric.Title).Append('\n');
                var header = new StringBuilder(RowHeader.PadLeft(rowHeaderWidth));
                for (int c = start; c < end; c++)
                {
                    header.Append(ColumnGap).Append(columns[c].Name.PadLeft(columns[c].Width));
                }

                text.Append(header).Append('\n');
                text.Append(new string('-', header.Length)).Append('\n');
                for (int r = 0; r < rows.Count; r++)
                {
                    text.Append(rows[r].PadLeft(rowHeaderWidth));
                    for (int c = start; c < end; c++)
                    {
                        text.Append(ColumnGap).Append(columns[c].Cells[r].PadLeft(columns[c].Width));
                    }

                    text.Append('\n');
                }

                start = end;
            }
        }

        var all = summary.Branches.Values.SelectMany(ps => ps).ToList();
        if (all.Any(p => p.Diverged > 0))
        {
            text.Append('\n').Append(DivergedMark).Append(" diverged: a loss or weight stopped being a finite number and ended training early (in some or all replicates); accuracy is that of the weights at the divergence\n");
        }

        if (all.Any(p => p.AtChance > 0))
        {
            text.Append(all.Any(p => p.Diverged > 0) ? string.Empty : "\n").Append(AtChanceMark).Append(" at chance: training ended with finite numbers but no better than guessing the most common class (in some or all replicates)\n");
        }

        return text.ToString();
    }

    /// <summary>Mark after a cell where some replicate diverged.</summary>
    public const char DivergedMark = '†';

    /// <summary>Mark after a cell where some replicate ended at chance.</summary>
    public const char AtChanceMark = '*';

    /// <summary>A row label: <c>100.0</c>, <c>51.3</c>, <c>3.6</c>; two decimals below 1% (<c>0.45</c>).</summary>
    internal static string RowLabel(double percent) =>
        percent.ToString(percent >= 0.95 ? "0.0" : "0.00", CultureInfo.InvariantCulture);

    private sealed record ColumnText(string Name, IReadOnlyList<string> Cells, int Width);

    private static ColumnText Column(string name, IReadOnlyList<LevelPoint> points, Metric metric, IReadOnlyList<string> rows)
    {
        var byRow = new Dictionary<string, LevelPoint>(StringComparer.Ordinal);
        foreach (var p in points)
        {
            byRow[RowLabel(100 * p.WeightsRemaining)] = p;
        }

        var cells = rows.Select(row => byRow.TryGetValue(row, out var p) ? Cell(p, metric) : Missing).ToList();
        return new ColumnText(name, cells, Math.Max(name.Length, cells.Max(c => c.Length)));
    }

    private static string Cell(LevelPoint p, Metric metric)
    {
        double value = metric.Value(p);
        if (double.IsNaN(value))
        {
            return Missing;
        }

        string mean = value.ToString(metric.Format, CultureInfo.InvariantCulture);
        string mark = p.Diverged > 0 ? $" {DivergedMark}" : p.AtChance > 0 ? $" {AtChanceMark}" : string.Empty;
        return (p.Replicates > 1
            ? mean + " ± " + metric.Std(p).ToString(metric.Format, CultureInfo.InvariantCulture)
            : mean) + mark;
    }
}
