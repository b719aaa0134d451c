using System.Globalization;
using System.Text;
using ScottPlot;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// The report of an instability experiment: a table of the error barrier by rewind iteration and a plot of the
/// test error along the linear path between the two copies, one line per rewind iteration (Frankle et al. 2020,
/// Figure 3 and Table 1).
/// </summary>
public static class InstabilityReport
{
    /// <summary>File stem of the path plot (<c>instability.png</c>, <c>instability.svg</c>).</summary>
    public const string PlotStem = "instability";

    /// <summary>
    /// The table: per rewind iteration k, the replicates, the copies' mean test error, the error barrier (percentage
    /// points, ± one standard deviation across replicates) and the loss barrier.
    /// </summary>
    public static string Format(InstabilitySummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var sb = new StringBuilder();
        sb.AppendLine("rewind k | replicates | end-point test error | error barrier (pp) | loss barrier");
        sb.AppendLine("-------: | ---------: | -------------------: | -----------------: | -----------:");
        foreach (var r in summary.Rows)
        {
            string std = r.Replicates > 1 ? string.Create(CultureInfo.InvariantCulture, $" ± {100 * r.ErrorBarrierStd:F2}") : string.Empty;
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{r.RewindIteration,8} | {r.Replicates,10} | {100 * r.EndpointError,19:F2}% | {100 * r.ErrorBarrier,9:F2}{std,8} | {r.LossBarrier,12:F4}"));
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>
    /// Writes the test error along the path (mean over replicates) as PNG and SVG into <paramref name="directory"/>,
    /// each atomically; returns the two paths.
    /// </summary>
    public static IReadOnlyList<string> WritePlot(InstabilitySummary summary, string directory)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (summary.Rows.Count == 0)
        {
            return [];
        }

        Directory.CreateDirectory(directory);
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < summary.Rows.Count; i++)
        {
            var row = summary.Rows[i];
            var line = plot.Add.Scatter(row.Alphas.ToArray(), row.MeanErrors.Select(e => 100 * e).ToArray());
            line.Color = palette.GetColor(i);
            line.LineWidth = 2;
            line.MarkerSize = 4;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"k = {row.RewindIteration}");
        }

        plot.Title("Test error on the linear path between two copies trained from θₖ");
        plot.XLabel("Interpolation α (0: copy A, 1: copy B)");
        plot.YLabel("Test error (%)");
        ReportPlots.UseSansFont(plot);
        plot.ShowLegend(Edge.Right);
        plot.Axes.AutoScale();
        return ReportPlots.Save(plot, directory, PlotStem);
    }
}
