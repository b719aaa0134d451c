using ScottPlot;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;

namespace SparseNet.Reporting;

public static partial class ReportPlots
{
    /// <summary>
    /// Writes <c>overlap.png</c> and <c>overlap.svg</c> into <paramref name="directory"/>: the Jaccard index of the
    /// tickets' masks against the percent of weights remaining, observed (mean ± std over pairs) and by chance, for
    /// every layer and overall, on the axis of the other plots. Returns the paths written.
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
            lines[$"{name}"] = rows.Select(x => Point(x.Level, x.Pairs, x.Rows.First(r => r.Name == layer), chance: false)).ToList();
            lines[$"{name} (chance)"] = rows.Select(x => Point(x.Level, x.Pairs, x.Rows.First(r => r.Name == layer), chance: true)).ToList();
        }

        Directory.CreateDirectory(directory);
        var figure = new Figure("overlap", "Overlap of tickets' masks (Jaccard) against chance", "Jaccard |A∩B| / |A∪B|", p => p.TestAccuracy, p => p.TestAccuracyStd);
        using var plot = Build(new ExperimentSummary(lines), figure);
        string png = Path.Combine(directory, "overlap.png");
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        string svg = Path.Combine(directory, "overlap.svg");
        AtomicFile.WriteAllText(svg, NumberClipPaths(plot.GetSvgXml(Width, Height)));
        return [png, svg];
    }

    // A level's Jaccard index carried in a point's accuracy fields, so the plot of the other figures draws it.
    private static LevelPoint Point(TicketOverlapLevel level, int pairs, OverlapRow row, bool chance) =>
        new(level.Level, level.WeightsRemaining, chance ? row.ChanceJaccard : row.Jaccard, chance ? 0 : row.JaccardStd, 0, 0, 0, 0, chance ? 1 : pairs, 0, 0);
}
