using System.Globalization;
using System.Text;
using ScottPlot;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// The report of a supermask experiment: per replicate, the test accuracy of the learned supermask beside a random
/// mask of the same density on the same frozen weights (neither trains a weight), and a plot of the supermask's test
/// accuracy while its scores train, with the random mask's as a line.
/// </summary>
public static class SupermaskReport
{
    /// <summary>File stem of the plot (<c>supermask.png</c>, <c>supermask.svg</c>).</summary>
    public const string PlotStem = "supermask";

    /// <summary>The table: a heading line, one row per replicate and the mean ± standard deviation over replicates.</summary>
    public static string Format(SupermaskSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        static string Percent(double v) => double.IsNaN(v) ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * v:F2}%");
        static string Of(UnitResult? u) => u is null ? "(running)" : Percent(u.TestAccuracy) + (u.Outcome == UnitResult.AtChance ? " *" : u.Outcome == UnitResult.Diverged ? " †" : string.Empty);
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Supermask: {summary.Model} on {summary.Data}, {100 * summary.Density:0.##}% of each layer's weights kept, {summary.Weights} weights never trained"));
        sb.AppendLine("replicate | iterations | supermask test acc | random mask test acc");
        sb.AppendLine("--------: | ---------: | -----------------: | -------------------:");
        foreach (var r in summary.Rows)
        {
            string iterations = r.Supermask?.Iterations.ToString(CultureInfo.InvariantCulture) ?? "–";
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{r.Replicate,9} | {iterations,10} | {Of(r.Supermask),18} | {Of(r.RandomMask),20}"));
        }

        if (summary.Rows.Count > 1)
        {
            string MeanStd(IReadOnlyList<double> values)
            {
                var (mean, std) = SampleStatistics.MeanStd(values);
                return double.IsNaN(mean) ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * mean:F2} ± {100 * std:F2}%");
            }

            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"mean ± sd",9} | {string.Empty,10} | {MeanStd(summary.SupermaskAccuracies),18} | {MeanStd(summary.RandomMaskAccuracies),20}"));
        }

        if (summary.Rows.Any(r => r.Supermask?.Outcome == UnitResult.AtChance || r.RandomMask?.Outcome == UnitResult.AtChance))
        {
            sb.AppendLine("* at chance: no better than guessing the most common test class");
        }

        if (summary.Rows.Any(r => r.Supermask?.Outcome == UnitResult.Diverged))
        {
            sb.AppendLine("† diverged: score training stopped at a loss that was not a finite number");
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>
    /// Writes the supermask's mean test accuracy by iteration, with the random mask's mean as a horizontal line, as PNG
    /// and SVG into <paramref name="directory"/>, each atomically; returns the two paths (none without a finished supermask).
    /// </summary>
    public static IReadOnlyList<string> WritePlot(SupermaskSummary summary, string directory)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (summary.Curve.Count == 0)
        {
            return [];
        }

        Directory.CreateDirectory(directory);
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var line = plot.Add.Scatter(summary.Curve.Select(c => (double)c.Iteration).ToArray(), summary.Curve.Select(c => 100 * c.TestAccuracy).ToArray());
        line.Color = palette.GetColor(0);
        line.LineWidth = 2;
        line.MarkerSize = 4;
        line.LegendText = "learned supermask (edge-popup)";
        var (random, _) = SampleStatistics.MeanStd(summary.RandomMaskAccuracies);
        if (!double.IsNaN(random))
        {
            var level = plot.Add.HorizontalLine(100 * random);
            level.Color = palette.GetColor(1);
            level.LineWidth = 2;
            level.LinePattern = LinePattern.Dashed;
            level.LegendText = "random mask, same density";
        }

        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{summary.Model}: {100 * summary.Density:0.##}% of weights kept, weights never trained"));
        plot.XLabel("Score-training iteration");
        plot.YLabel("Test accuracy (%)");
        ReportPlots.UseSansFont(plot);
        plot.ShowLegend(Edge.Right);
        plot.Axes.AutoScale();
        return ReportPlots.Save(plot, directory, PlotStem);
    }
}
