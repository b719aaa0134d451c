using System.CommandLine;
using System.Globalization;
using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet analyze ANALYSIS …</c>: analyses that read finished runs and train nothing.</summary>
internal static class AnalyzeCommand
{
    public static Command Create() => new("analyze", "Analyse finished runs of the experiment store (they train nothing); `sparsenet report RUN_DIR` then shows the results beside the run's own.")
    {
        GradientFlow(),
        Overlap(),
    };

    private static Command GradientFlow()
    {
        var runDir = new Argument<string>("RUN_DIR") { Description = "An experiment's run directory (lottery, prune-at-init or instability)" };
        var batches = new Option<int>("--batches") { Description = "Training batches (of the run's batch size) the loss and gradient average over", DefaultValueFactory = _ => 10 };
        var step = new Option<double>("--step") { Description = "Step size η of the measured SGD steps θ − η·g (dense) and θ − η·m⊙g (sparse)", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the order the batches are drawn in", DefaultValueFactory = _ => 1UL };
        var command = new Command("gradient-flow", "For every finished unit, at the weights its training started from: the dense gradient g (at the masked weights, w.r.t. every weight) against the masked one m⊙g — cos(g, m⊙g), ‖m⊙g‖/‖g‖, the first-order progress ratio ⟨g, m⊙g⟩/‖g‖² and the measured ratio of one sparse SGD step's loss decrease to one dense step's. Writes gradient_flow.json into the run directory.")
        {
            runDir, batches, step, seed,
        };
        command.SetAction(parse =>
        {
            var settings = new GradientFlowSettings { Batches = parse.GetValue(batches), Step = parse.GetValue(step), Seed = parse.GetValue(seed) };
            string dir = parse.GetValue(runDir)!;
            var results = GradientFlowAnalysis.Run(dir, settings, CliRunner.Say, CliRunner.Interrupt);
            CliRunner.Say(GradientFlowReport.Format(results));
            CliRunner.Say(string.Create(CultureInfo.InvariantCulture, $"gradient flow: {Path.Combine(dir, GradientFlowResults.FileName)} ({results.Units.Count} units)"));
            return 0;
        });
        return command;
    }

    private static Command Overlap()
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
        return overlap;
    }
}
