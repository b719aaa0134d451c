using System.Globalization;
using System.Text;
using ScottPlot;
using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// The gradient-flow section of a report (<c>gradient_flow.json</c>, from <c>sparsenet analyze gradient-flow</c>): per
/// level and branch, how much of the dense gradient the mask keeps and how much of a dense SGD step's progress one
/// masked step makes, beside the final test accuracy.
/// </summary>
public static class GradientFlowReport
{
    private sealed record Row(string Branch, int Level, double WeightsRemaining, double Cosine, double PrunableCosine, double NormRatio, double Predicted, double Measured, double TestAccuracy, int Replicates)
    {
        public double MeasuredOverPredicted => Measured / Predicted;
    }

    /// <summary>
    /// The table as text: one row per (branch, level), largest weights remaining first and branches in report order at
    /// equal weights, each a mean over replicates; <c>—</c> for a value that is not a number. The level is the IMP level,
    /// the sparsity in thousandths for pruning at initialisation, the rewind iteration k for instability copies.
    /// </summary>
    public static string Format(GradientFlowResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = Rows(results.Units);
        int replicates = rows.Count == 0 ? 0 : rows.Max(r => r.Replicates);
        var text = new StringBuilder();
        text.Append(string.Create(CultureInfo.InvariantCulture, $"Gradient flow at the start of training ({results.Settings.Batches} batches × {results.BatchSize} training examples, batch seed {results.Settings.Seed}, SGD step η = {results.Settings.Step:R}{(replicates > 1 ? $"; means of up to {replicates} replicates" : string.Empty)})\n"));
        text.Append("g: gradient of the loss at the masked weights m⊙θ (θ₀, or θₖ when rewound) w.r.t. every weight, pruned ones included (biases and batch norm count as kept;\n");
        text.Append("cos weights: over the prunable weights alone); predicted = ⟨g,m⊙g⟩/‖g‖²; measured: loss decrease of the step w − η·m⊙g over that of w − η·g\n");
        var header = new[] { "weights %", "branch", "level", "cos(g,m⊙g)", "‖m⊙g‖/‖g‖", "cos weights", "predicted", "measured", "meas/pred", "test acc %" };
        var cells = rows.Select(r => (IReadOnlyList<string>)
        [
            ReportTable.RowLabel(100 * r.WeightsRemaining),
            r.Branch,
            r.Level.ToString(CultureInfo.InvariantCulture),
            Number(r.Cosine, "0.000"),
            Number(r.NormRatio, "0.000"),
            Number(r.PrunableCosine, "0.000"),
            Number(r.Predicted, "0.000"),
            Number(r.Measured, "0.000"),
            Number(r.MeasuredOverPredicted, "0.000"),
            Number(100 * r.TestAccuracy, "0.00"),
        ]).ToList();
        text.Append(TextTable.Format(header, cells));
        return text.ToString();
    }

    /// <summary>
    /// Writes <c>gradient_flow_cosine</c> (cos(g, m⊙g)) and <c>gradient_flow_progress</c> (the measured one-step progress
    /// ratio), PNG and SVG, one line per branch that <paramref name="show"/> accepts (default: all); IMP's baselines start
    /// from the dense network's point, as in the main plots.
    /// </summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> WritePlots(GradientFlowResults results, string directory, Func<string, bool>? show = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = Rows(results.Units).Where(r => show?.Invoke(r.Branch) ?? true).ToList();
        IReadOnlyList<ReportPlots.Series> Series(Func<IReadOnlyList<GradientFlowUnit>, double> mean, Func<IReadOnlyList<GradientFlowUnit>, double> std) =>
            BranchOrder.Sort(rows.Select(r => r.Branch).Distinct()).Select(branch => new ReportPlots.Series(
                branch,
                branch,
                results.Units.Where(u => u.Branch == branch || (u.Branch == "lottery" && u.Level == 0 && LotteryConfig.KnownBranches.Contains(branch))).GroupBy(u => u.Level).Select(g =>
                {
                    var units = g.ToList();
                    return new ReportPlots.SeriesPoint(units.Average(u => u.WeightsRemaining), mean(units), std(units), units.Count);
                }).ToList(),
                MarkerShape.FilledCircle)).ToList();
        var written = new List<string>();
        written.AddRange(ReportPlots.WriteSeries(directory, "gradient_flow_cosine", "Gradient kept by the mask at the start of training", "cos(g, m⊙g)", Series(u => u.Average(x => x.Measure.Cosine), u => SampleStatistics.MeanStd(u.Select(x => x.Measure.Cosine)).Std)));
        written.AddRange(ReportPlots.WriteSeries(directory, "gradient_flow_progress", $"One SGD step (η = {results.Settings.Step.ToString("R", CultureInfo.InvariantCulture)}): sparse over dense loss decrease", "Measured progress ratio", Series(u => u.Average(x => x.Measure.MeasuredProgressRatio), u => SampleStatistics.MeanStd(u.Select(x => x.Measure.MeasuredProgressRatio)).Std)));
        return written;
    }

    // Rows at the same weights remaining (as shown, one decimal) sit together, branches in report order.
    private static List<Row> Rows(IReadOnlyList<GradientFlowUnit> units)
    {
        var order = BranchOrder.Sort(units.Select(u => u.Branch).Distinct()).ToList();
        return units.GroupBy(u => (u.Branch, u.Level))
            .Select(g =>
            {
                var u = g.ToList();
                return new Row(g.Key.Branch, g.Key.Level, u.Average(x => x.WeightsRemaining), u.Average(x => x.Measure.Cosine), u.Average(x => x.Measure.PrunableCosine), u.Average(x => x.Measure.NormRatio), u.Average(x => x.Measure.PredictedProgressRatio), u.Average(x => x.Measure.MeasuredProgressRatio), u.Average(x => x.TestAccuracy), u.Count);
            })
            .OrderByDescending(r => Math.Round(100 * r.WeightsRemaining, 1))
            .ThenBy(r => order.IndexOf(r.Branch))
            .ThenBy(r => r.Level)
            .ToList();
    }

    internal static string Number(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : TextTable.Missing;
}
