using System.CommandLine;
using System.Globalization;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Cli.Commands;

/// <summary>
/// <c>sparsenet instability</c>: linear mode connectivity of two copies trained from θₖ for each rewind iteration k
/// (Frankle et al. 2020).
/// </summary>
internal static class InstabilityCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions(defaultValidationSize: 1000);
        var rewinds = new Option<string>("--rewind-iterations")
        {
            Description = "Comma-separated iterations k at which two copies split from one run (0: at initialisation)",
            DefaultValueFactory = _ => "0,100,500,2000",
        };
        var points = new Option<int>("--points") { Description = "Evenly spaced points on the path between the two trained copies, end points included", DefaultValueFactory = _ => 30 };
        var bnBatches = new Option<int>("--bn-batches") { Description = "Training batches from which batch-norm statistics are recomputed at every point of the path (networks with batch norm)", DefaultValueFactory = _ => 30 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate validation and test accuracy every this many iterations while training", DefaultValueFactory = _ => 100 };
        var ticketMask = new Option<string?>("--mask") { Description = "Study a ticket instead of the dense network: its mask.safetensors (from a lottery unit), with --start and a single --rewind-iterations k" };
        var ticketStart = new Option<string?>("--start") { Description = "The weights θₖ the ticket's copies start from (e.g. a lottery run's rewind.safetensors)" };
        var replicates = new Option<int>("--replicates") { Description = "Repeat with seeds seed, seed+1, ... for error bars", DefaultValueFactory = _ => 1 };
        var shard = ExperimentRunner.ShardOption();
        var root = new Option<string>("--root") { Description = "Directory holding experiment runs", DefaultValueFactory = _ => "runs" };

        var command = new Command("instability", "Train the network to iteration k, then two copies from there to the end with different data orders, and measure the test error along the straight line between them: the error barrier says whether the copies share one linearly connected minimum. Interrupted runs resume when the same command is run again.");
        training.AddTo(command);
        foreach (var option in new Option[] { rewinds, points, bnBatches, ticketMask, ticketStart, evalEvery, replicates, shard, root })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var ks = ExperimentRunner.Usage(() => ExperimentRunner.SplitList(parse.GetValue(rewinds)).Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : throw new ArgumentException($"--rewind-iterations: '{v}' is not an iteration number")).ToArray());
            var config = new InstabilityConfig
            {
                Training = new LotteryConfig
                {
                    Recipe = training.Read(parse),
                    Seed = training.Seed(parse),
                    DataSeed = training.DataSeed(parse),
                    EvalEvery = parse.GetValue(evalEvery),
                    Levels = 1,
                    Branches = [],
                },
                RewindIterations = ks,
                Points = parse.GetValue(points),
                BatchNormBatches = parse.GetValue(bnBatches),
                TicketMask = parse.GetValue(ticketMask),
                TicketStart = parse.GetValue(ticketStart),
            };
            int n = ExperimentRunner.Validate(parse, replicates, config.Validate);
            return Run(config, n, Shard.Parse(parse.GetValue(shard)!), parse.GetValue(root)!);
        });
        return command;
    }

    private static int Run(InstabilityConfig config, int replicates, Shard shard, string root)
    {
        string runDir = InstabilityExperiment.DirectoryFor(config, root);
        var experiment = new InstabilityExperiment(config, runDir);
        return ExperimentRunner.Launch(
            $"instability: {config.Training.Recipe.Model} on {config.Training.Recipe.Data}, rewind iterations [{string.Join(", ", config.RewindIterations)}], {config.Points} points, {replicates} replicate(s)",
            runDir,
            replicates,
            shard,
            experiment.UnitCount(replicates, shard),
            (progress, cancel) => experiment.Run(replicates, progress, shard, cancel),
            p => p.Branch == "trunk" ? $"replicate {p.Replicate} trunk" : $"replicate {p.Replicate} k={p.Level} {p.Branch}");
    }
}
