using System.CommandLine;
using System.Globalization;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Cli.Commands;

/// <summary>
/// <c>sparsenet lottery</c>: iterative magnitude pruning with reset (or rewinding) and the baseline
/// branches; with no options, the main job on the built-in data.
/// </summary>
internal static class LotteryCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions(defaultValidationSize: 1000);
        var levels = new Option<int>("--levels") { Description = "Pruning levels including the dense one (level 0)", DefaultValueFactory = _ => 16 };
        var target = new Option<double?>("--target-sparsity") { Description = "Prune until this fraction of weights is gone; sets --levels to ⌈log(1−s)/log(1−p)⌉ + 1" };
        var rate = new Option<double>("--prune-rate") { Description = "Fraction of surviving weights pruned per level", DefaultValueFactory = _ => 0.2 };
        var outputRate = new Option<double>("--output-prune-rate") { Description = "Per-level rate for the output layer (layerwise pruning)", DefaultValueFactory = _ => 0.1 };
        var global = new Option<bool>("--global") { Description = "One magnitude threshold across all layers instead of a rate per layer" };
        var exclude = new Option<string>("--exclude") { Description = "Comma-separated layers never pruned (e.g. fc3)", DefaultValueFactory = _ => string.Empty };
        var allowEmpty = new Option<bool>("--allow-empty-layers") { Description = "Let a mask that prunes with one threshold across layers empty a layer (layer collapse) and train on; by default such a mask is refused, naming the layer" };
        var rewind = new Option<int>("--rewind-iteration") { Description = "0 resets survivors to θ₀; k > 0 rewinds them to the dense run's weights after k iterations", DefaultValueFactory = _ => 0 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate validation and test accuracy every this many iterations", DefaultValueFactory = _ => 100 };
        var branches = new Option<string>("--branches")
        {
            Description = $"Comma-separated baseline branches run at every pruned level ({string.Join(", ", LotteryConfig.KnownBranches)}); empty for none",
            DefaultValueFactory = _ => "random_reinit,random_prune",
        };
        var branchLevels = new Option<string>("--branch-levels")
        {
            Description = "Comma-separated levels at which the branches run (e.g. 7,12); empty for every pruned level",
            DefaultValueFactory = _ => string.Empty,
        };
        var replicates = new Option<int>("--replicates") { Description = "Repeat the whole run with seeds seed, seed+1, ... for error bars", DefaultValueFactory = _ => 1 };
        var shard = ExperimentRunner.ShardOption();
        var root = new Option<string>("--root") { Description = "Directory holding experiment runs", DefaultValueFactory = _ => "runs" };

        var command = new Command("lottery", "Find lottery tickets by iterative magnitude pruning, next to random-reinitialisation and random-pruning baselines. Interrupted runs resume when the same command is run again.");
        training.AddTo(command);
        foreach (var option in new Option[] { levels, target, rate, outputRate, global, exclude, allowEmpty, rewind, evalEvery, branches, branchLevels, replicates, shard, root })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            double pruneRate = parse.GetValue(rate);
            int levelCount = parse.GetValue(target) is { } s ? ExperimentRunner.Usage(() => LotteryConfig.LevelsFor(s, pruneRate)) : parse.GetValue(levels);
            var config = new LotteryConfig
            {
                Recipe = training.Read(parse),
                Seed = training.Seed(parse),
                DataSeed = training.DataSeed(parse),
                Levels = levelCount,
                PruneRate = pruneRate,
                OutputPruneRate = parse.GetValue(outputRate),
                Global = parse.GetValue(global),
                Exclude = ExperimentRunner.SplitList(parse.GetValue(exclude)),
                AllowEmptyLayers = parse.GetValue(allowEmpty),
                RewindIteration = parse.GetValue(rewind),
                EvalEvery = parse.GetValue(evalEvery),
                Branches = ExperimentRunner.SplitList(parse.GetValue(branches)),
                BranchLevels = ExperimentRunner.Usage(() => ExperimentRunner.SplitList(parse.GetValue(branchLevels)).Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : throw new ArgumentException($"--branch-levels: '{v}' is not a level number")).ToArray()),
            };
            ExperimentRunner.Usage(() =>
            {
                config.Validate();
                return 0;
            });
            int n = parse.GetValue(replicates);
            if (n < 1)
            {
                throw new UsageException($"--replicates must be ≥ 1, got {n}");
            }

            return Run(config, n, Shard.Parse(parse.GetValue(shard)!), parse.GetValue(root)!);
        });
        return command;
    }

    private static int Run(LotteryConfig config, int replicates, Shard shard, string root)
    {
        string runDir = LotteryExperiment.DirectoryFor(config, root);
        var experiment = new LotteryExperiment(config, runDir);
        CliRunner.Say($"lottery: {config.Recipe.Model} on {config.Recipe.Data}, {config.Levels} levels, branches [{string.Join(", ", config.Branches)}], {replicates} replicate(s)");
        CliRunner.Say($"run directory: {runDir}");
        if (!ExperimentRunner.AnnounceShard(shard, replicates))
        {
            return 0;
        }

        return ExperimentRunner.Execute(runDir, experiment.UnitCount(replicates, shard), (progress, cancel) => experiment.Run(replicates, progress, shard, cancel), p => $"replicate {p.Replicate} level {p.Level} {p.Branch}");
    }
}
