using System.CommandLine;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet report RUN_DIR</c>: summarises a run's finished levels as a table and plots.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var runDir = new Argument<string>("RUN_DIR") { Description = "An experiment's run directory (printed by the experiment command)" };
        var command = new Command("report", "Print the results table of a run and write its plots (PNG and SVG) and summary.json into the run directory.") { runDir };
        command.SetAction(parse =>
        {
            _ = Print(parse.GetValue(runDir)!);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Refreshes summary.json and the plots from the units finished so far (by any process), then prints the
    /// table; says so when some replicate is still being trained. Returns the unit results it summarised.
    /// </summary>
    public static IReadOnlyList<UnitResult> Print(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"run directory '{runDirectory}' does not exist");
        }

        if (InstabilityConfig.IsInstabilityRun(runDirectory))
        {
            return PrintInstability(runDirectory);
        }

        if (SupermaskConfig.IsSupermaskRun(runDirectory))
        {
            return SupermaskReportPrinter.Print(runDirectory);
        }

        IReadOnlyList<UnitResult> results;
        ExperimentSummary summary, shown;
        IReadOnlyList<string> files;
        AnalysisSections sections;
        TicketOverlapSummary? overlap;

        // Under the run directory's lock (held only while summaries are written), so the last writer has seen
        // every unit finished before it, whichever process finished it.
        using (DirectoryLock.Acquire(runDirectory, "sparsenet report", TimeSpan.FromSeconds(120), CliRunner.Interrupt))
        {
            results = LotteryExperiment.Results(runDirectory);
            summary = LotteryExperiment.Summarize(results);

            // Sanity checks get a table of their own; the plots and the main table show the methods themselves.
            shown = summary.Where(name => !SanityTable.IsSanityBranch(name));
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "summary.json"), summary.ToJson());
            sections = AnalysisSections.Read(results, runDirectory);
            files = [.. ReportPlots.Write(shown, runDirectory), .. sections.WritePlots()];
            overlap = TicketOverlap.WithinRun(runDirectory, results);
            if (overlap is not null)
            {
                AtomicFile.WriteAllText(Path.Combine(runDirectory, TicketOverlap.FileName), overlap.ToJson());
                files = [.. files, .. ReportPlots.WriteOverlap(overlap, runDirectory)];
            }
        }

        SayBusy(runDirectory);
        CliRunner.Say(ReportTable.Format(shown));
        string transfers = TransferLegend.Format(runDirectory);
        if (transfers.Length > 0)
        {
            CliRunner.Say(transfers);
        }

        string sanity = SanityTable.Format(summary);
        if (sanity.Length > 0)
        {
            CliRunner.Say(sanity);
        }

        sections.Print(afterBlankLine: sanity.Length == 0);
        if (overlap is not null)
        {
            CliRunner.Say(OverlapTable.Format(overlap));
        }

        SayTimes(runDirectory);
        CliRunner.Say($"summary: {Path.Combine(runDirectory, "summary.json")}");
        CliRunner.Say($"plots: {string.Join(", ", files)}");
        return results;
    }

    // An instability run: the barrier table by rewind iteration and the plot of the error along the paths.
    private static IReadOnlyList<UnitResult> PrintInstability(string runDirectory)
    {
        IReadOnlyList<UnitResult> results;
        InstabilitySummary summary;
        IReadOnlyList<string> files;
        AnalysisSections sections;
        using (DirectoryLock.Acquire(runDirectory, "sparsenet report", TimeSpan.FromSeconds(120), CliRunner.Interrupt))
        {
            results = LotteryExperiment.Results(runDirectory);
            summary = InstabilitySummary.Read(runDirectory);
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "summary.json"), summary.ToJson());
            sections = AnalysisSections.Read(results, runDirectory);
            files = [.. InstabilityReport.WritePlot(summary, runDirectory), .. sections.WritePlots()];
        }

        SayBusy(runDirectory);
        CliRunner.Say(InstabilityReport.Format(summary));
        sections.Print(afterBlankLine: false);
        SayTimes(runDirectory);
        CliRunner.Say($"summary: {Path.Combine(runDirectory, "summary.json")}");
        CliRunner.Say($"plots: {string.Join(", ", files)}");
        return results;
    }

    internal static void SayTimes(string runDirectory)
    {
        string times = TrainingTimes.Format(runDirectory);
        if (times.Length > 0)
        {
            CliRunner.Say(times);
        }
    }

    internal static void SayBusy(string runDirectory)
    {
        var busy = Directory.GetDirectories(runDirectory, "replicate_*").Order(StringComparer.Ordinal).Where(DirectoryLock.IsHeld).ToList();
        if (busy.Count > 0)
        {
            CliRunner.Say($"(in progress: {string.Join(", ", busy.Select(d => $"{Path.GetFileName(d)} is being trained by {DirectoryLock.ReadHolder(d)}"))}; this report shows the units finished so far)");
        }
    }
}
