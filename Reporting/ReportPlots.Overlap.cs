using ScottPlot;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;

namespace SparseNet.Reporting;

public static partial class ReportPlots
{
    /// <summary>
    /// Writes <c>overlap.png</c> and <c>overlap.svg</c> into <paramref name="directory"/>: the Jaccard index of the
    /// tickets' masks over the one expected by chance (1: no more overlap than independent random masks of the same
    /// densities), mean ± std over pairs, for every layer and overall, against the percent of weights remaining on
    /// the axis of the other plots. Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> WriteOverlap(TicketOverlapSummary summary, string directory)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var lines = new Dictionary<string, IReadOnlyList<LevelPoint>>(StringComparer.Ordinal);
        var rows = summary.Levels.Select(l => (Level: l, Rows: TicketOverlapSummary.Rows(l), Pairs: l.Pairs.Count)).ToList();
        if (rows.Count == 0)
        {
            return [];
        }

        foreach (string layer in rows[0].Rows.Select(r => r.Name))
        {
            string name = layer == MaskOverlap.Overall ? "all layers" : layer;
            // A layer both masks empty has no ratio to draw (it stays in the table).
            lines[name] = rows.Select(x => (x.Level, x.Pairs, Row: x.Rows.First(r => r.Name == layer))).Where(x => x.Row.ChanceJaccard > 0).Select(x => Point(x.Level, x.Pairs, x.Row)).ToList();
        }

        Directory.CreateDirectory(directory);
        var figure = new Figure("overlap", "Overlap of tickets' masks: Jaccard index over chance (1 = chance)", "observed Jaccard / chance Jaccard", p => p.TestAccuracy, p => p.TestAccuracyStd);
        using var plot = Build(new ExperimentSummary(lines), figure);
        return Save(plot, directory, "overlap");
    }

    // A level's observed-over-chance ratio carried in a point's accuracy fields, so the plot of the other figures draws it.
    private static LevelPoint Point(TicketOverlapLevel level, int pairs, OverlapRow row) =>
        new(level.Level, level.WeightsRemaining, row.Jaccard / row.ChanceJaccard, row.JaccardStd / row.ChanceJaccard, 0, 0, 0, 0, pairs, 0, 0);
}
