using System.Globalization;
using System.Text;
using ScottPlot;
using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// The generalisation section of a report: per level and branch, the final training loss and accuracy beside the test
/// ones, the generalisation gap and the number of weights left, against sparsity.
/// </summary>
public static class GeneralizationReport
{
    /// <summary>
    /// The table as text: one row per (branch, level), largest weights remaining first, branches in report order;
    /// <c>—</c> where a value was not recorded (results written before training metrics were, version 5).
    /// </summary>
    public static string Format(IReadOnlyList<GeneralizationPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var text = new StringBuilder("Generalisation (end of training; train metrics on the training examples in evaluation mode; gap = train − test accuracy)\n");
        var header = new[] { "weights %", "branch", "level", "weights left", "train loss", "test loss", "train acc %", "test acc %", "gap (pp)", "loss gap" };
        var rows = Ordered(points).Select(p => (IReadOnlyList<string>)
        [
            ReportTable.RowLabel(100 * p.WeightsRemaining),
            p.Branch,
            p.Level.ToString(CultureInfo.InvariantCulture),
            GradientFlowReport.Number(p.WeightsKept, "#,0"),
            GradientFlowReport.Number(p.TrainLoss, "G4"),
            GradientFlowReport.Number(p.TestLoss, "G4"),
            GradientFlowReport.Number(100 * p.TrainAccuracy, "0.00"),
            GradientFlowReport.Number(100 * p.TestAccuracy, "0.00"),
            GradientFlowReport.Number(100 * p.AccuracyGap, "0.00"),
            GradientFlowReport.Number(p.LossGap, "G4"),
        ]).ToList();
        text.Append(TextTable.Format(header, rows));
        return text.ToString();
    }

    /// <summary>
    /// Writes <c>generalization</c> (train and test accuracy; squares train, circles test) and <c>generalization_gap</c>
    /// (train − test accuracy, percentage points), PNG and SVG; points without train metrics are left out, and nothing is
    /// written when no point has them.
    /// </summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> WritePlots(IReadOnlyList<GeneralizationPoint> points, string directory)
    {
        ArgumentNullException.ThrowIfNull(points);
        var branches = BranchOrder.Sort(points.Where(p => double.IsFinite(p.TrainAccuracy)).Select(p => p.Branch).Distinct());
        if (branches.Count == 0)
        {
            return [];
        }

        // IMP's baselines start from the dense network (the lottery branch's level 0), drawn as their first point as in the main plots.
        List<ReportPlots.SeriesPoint> Of(string branch, Func<GeneralizationPoint, double> value) =>
            points.Where(p => p.Branch == branch || (p.Branch == "lottery" && p.Level == 0 && LotteryConfig.KnownBranches.Contains(branch))).Select(p => new ReportPlots.SeriesPoint(p.WeightsRemaining, value(p), 0, p.Replicates)).ToList();
        var accuracy = branches.SelectMany(b => new[]
        {
            new ReportPlots.Series($"{b} train", b, Of(b, p => 100 * p.TrainAccuracy), MarkerShape.FilledSquare),
            new ReportPlots.Series($"{b} test", b, Of(b, p => 100 * p.TestAccuracy), MarkerShape.FilledCircle),
        }).ToList();
        var gap = branches.Select(b => new ReportPlots.Series(b, b, Of(b, p => 100 * p.AccuracyGap), MarkerShape.FilledCircle)).ToList();
        var written = new List<string>();
        written.AddRange(ReportPlots.WriteSeries(directory, "generalization", "Train and test accuracy at the end of training", "Accuracy (%)", accuracy));
        written.AddRange(ReportPlots.WriteSeries(directory, "generalization_gap", "Generalisation gap at the end of training", "Train − test accuracy (pp)", gap));
        return written;
    }

    private static List<GeneralizationPoint> Ordered(IReadOnlyList<GeneralizationPoint> points)
    {
        var order = BranchOrder.Sort(points.Select(p => p.Branch).Distinct()).ToList();
        return points.OrderByDescending(p => Math.Round(100 * p.WeightsRemaining, 1)).ThenBy(p => order.IndexOf(p.Branch)).ThenBy(p => p.Level).ToList();
    }
}
