using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet report</c> on a supermask run: the supermask beside the random mask, and the plot of its training.</summary>
internal static class SupermaskReportPrinter
{
    /// <summary>Refreshes summary.json and the plot from the units finished so far, prints the table, and returns the unit results.</summary>
    public static IReadOnlyList<UnitResult> Print(string runDirectory)
    {
        IReadOnlyList<UnitResult> results;
        SupermaskSummary summary;
        IReadOnlyList<string> files;
        using (DirectoryLock.Acquire(runDirectory, "sparsenet report", TimeSpan.FromSeconds(120), CliRunner.Interrupt))
        {
            results = LotteryExperiment.Results(runDirectory);
            summary = SupermaskSummary.Read(runDirectory);
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "summary.json"), summary.ToJson());
            files = SupermaskReport.WritePlot(summary, runDirectory);
        }

        ReportCommand.SayBusy(runDirectory);
        CliRunner.Say(SupermaskReport.Format(summary));
        ReportCommand.SayTimes(runDirectory);
        CliRunner.Say($"summary: {Path.Combine(runDirectory, "summary.json")}");
        if (files.Count > 0)
        {
            CliRunner.Say($"plots: {string.Join(", ", files)}");
        }

        return results;
    }
}
