using ScottPlot;
using SparseNet.Engine.IO;

namespace SparseNet.Reporting;

/// <summary>Plots of any per-level quantity against the weights remaining, in the style of the experiment plots.</summary>
public static partial class ReportPlots
{
    /// <summary>A point of a <see cref="Series"/>: a mean over <paramref name="Replicates"/> with its standard deviation.</summary>
    internal sealed record SeriesPoint(double WeightsRemaining, double Value, double Std, int Replicates);

    /// <summary>One line: drawn in its branch's colour with the given marker; a single point is a dashed reference line.</summary>
    internal sealed record Series(string Label, string Branch, IReadOnlyList<SeriesPoint> Points, MarkerShape Marker);

    /// <summary>
    /// Writes <paramref name="stem"/>.png and .svg into <paramref name="directory"/> (atomically): every series against the
    /// weights remaining on the reversed log axis. Points whose value is not finite (not recorded) or whose fraction is
    /// outside (0, 1] are left out; with no point left, nothing is written.
    /// </summary>
    /// <returns>The paths written, PNG then SVG; empty when nothing was drawable.</returns>
    internal static IReadOnlyList<string> WriteSeries(string directory, string stem, string title, string yLabel, IReadOnlyList<Series> series)
    {
        var drawable = series
            .Select(s => s with { Points = s.Points.Where(p => double.IsFinite(p.Value) && p.WeightsRemaining > 0 && p.WeightsRemaining <= 1).OrderByDescending(p => p.WeightsRemaining).ToList() })
            .Where(s => s.Points.Count > 0)
            .ToList();
        if (drawable.Count == 0)
        {
            return [];
        }

        using var plot = new Plot();
        var branches = drawable.Select(s => s.Branch).Distinct().ToList();
        var references = new List<(double Y, Color Color)>();
        foreach (var s in drawable)
        {
            var color = Color.FromHex(BranchOrder.Color(s.Branch, branches));
            double[] xs = s.Points.Select(p => Math.Log10(100 * p.WeightsRemaining)).ToArray();
            double[] ys = s.Points.Select(p => p.Value).ToArray();
            if (s.Points.Count == 1)
            {
                references.Add((ys[0], color));
                var marker = plot.Add.Marker(xs[0], ys[0]);
                marker.Color = color;
                marker.Size = 8;
                marker.Shape = s.Marker;
                marker.LegendText = s.Label;
            }
            else
            {
                var scatter = plot.Add.Scatter(xs, ys);
                scatter.Color = color;
                scatter.LineWidth = 1.5f;
                scatter.MarkerSize = 6;
                scatter.MarkerShape = s.Marker;
                scatter.LegendText = s.Label;
            }

            if (s.Points.Any(p => p.Replicates > 1 && double.IsFinite(p.Std)))
            {
                var bars = plot.Add.ErrorBar(xs, ys, s.Points.Select(p => p.Replicates > 1 && double.IsFinite(p.Std) ? p.Std : 0).ToArray());
                bars.Color = color;
                bars.LineWidth = 1.2f;
            }
        }

        plot.Title(title);
        plot.XLabel("Weights remaining (%)");
        plot.YLabel(yLabel);
        UseSansFont(plot);
        plot.ShowLegend(Edge.Right);
        plot.Axes.AutoScale();
        var percents = drawable.SelectMany(s => s.Points).Select(p => 100 * p.WeightsRemaining).ToList();
        double hi = Math.Log10(percents.Max());
        double lo = Math.Log10(percents.Min());
        double pad = Math.Max(0.04 * (hi - lo), 0.05);
        plot.Axes.SetLimitsX(hi + pad, lo - pad);
        plot.Axes.Bottom.TickGenerator = LogPercentTicks(percents, hi - lo + 2 * pad);
        foreach (var (y, color) in references)
        {
            AddDashedLine(plot, hi + pad, lo - pad, y, color);
        }

        Directory.CreateDirectory(directory);
        return Save(plot, directory, stem);
    }
}
