using System.CommandLine;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet analyze</c>: analyses that read finished runs and train nothing.</summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var runA = new Argument<string>("RUN_A") { Description = "A lottery run directory" };
        var runB = new Argument<string>("RUN_B") { Description = "Another lottery run directory of the same model (e.g. the same --seed with another --data-seed)" };
        var output = new Option<string?>("--json") { Description = "Also write the overlap as JSON to this file" };
        var overlap = new Command("overlap", "Mask overlap (Jaccard, per layer and overall) between the tickets of two runs, replicate r of one against replicate r of the other at every level both finished, beside the overlap independent random masks of the same densities have by chance and each ticket's test accuracy. `sparsenet report RUN_DIR` shows the same between the replicates of one run.")
        {
            runA,
            runB,
            output,
        };
        overlap.SetAction(parse =>
        {
            var summary = TicketOverlap.BetweenRuns(parse.GetValue(runA)!, parse.GetValue(runB)!);
            if (parse.GetValue(output) is { } path)
            {
                Engine.IO.AtomicFile.WriteAllText(path, summary.ToJson());
            }

            CliRunner.Say(OverlapTable.Format(summary));
            return 0;
        });
        return new Command("analyze", "Analyses of finished runs (they train nothing)") { overlap };
    }
}
