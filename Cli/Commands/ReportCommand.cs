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
            Print(parse.GetValue(runDir)!);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Refreshes summary.json and the plots from the unit results, then prints the table. While an experiment
    /// holds the run directory, prints the table of the units finished so far and leaves the files to it.
    /// </summary>
    public static void Print(string runDirectory)
    {
        var summary = LotteryExperiment.Summarize(runDirectory);

        // Sanity checks get a table of their own; the plots and the main table show the methods themselves.
        var shown = summary.Where(name => !SanityTable.IsSanityBranch(name));
        DirectoryLock held;
        try
        {
            held = DirectoryLock.Acquire(runDirectory, "sparsenet report");
        }
        catch (DirectoryLockedException e)
        {
            CliRunner.Say(ReportTable.Format(shown));
            CliRunner.Say($"(in progress: '{e.Directory}' is being written by {e.Holder}; summary.json and the plots were not rewritten)");
            return;
        }

        IReadOnlyList<string> files;
        using (held)
        {
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "summary.json"), summary.ToJson());
            files = ReportPlots.Write(shown, runDirectory);
        }

        CliRunner.Say(ReportTable.Format(shown));
        string sanity = SanityTable.Format(summary);
        if (sanity.Length > 0)
        {
            CliRunner.Say(sanity);
        }

        CliRunner.Say($"summary: {Path.Combine(runDirectory, "summary.json")}");
        CliRunner.Say($"plots: {string.Join(", ", files)}");
    }
}
