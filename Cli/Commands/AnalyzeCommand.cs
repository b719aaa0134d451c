using System.CommandLine;
using System.Globalization;
using SparseNet.Pruning.Analyses;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet analyze ANALYSIS RUN_DIR</c>: analyses of a finished run whose results the report shows.</summary>
internal static class AnalyzeCommand
{
    public static Command Create() => new("analyze", "Analyse the units of a run in the experiment store; `sparsenet report RUN_DIR` then shows the results beside the run's own.")
    {
        GradientFlow(),
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
}
