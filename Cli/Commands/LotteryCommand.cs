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
        var rate = new Option<double?>("--prune-rate")
        {
            Description = "Fraction of surviving weights pruned per level: with --global across all layers, else per layer for every convolution and fully connected layer without a rate of its own (default: the model's recipe, 0.2; given, it also replaces the recipe's per-type rates)",
        };
        var convRate = new Option<double?>("--conv-prune-rate") { Description = "Per-level rate for convolutions in layerwise pruning (default: --prune-rate; conv2/conv4 0.1, conv6 0.15 as Frankle and Carbin 2019)" };
        var fcRate = new Option<double?>("--fc-prune-rate") { Description = "Per-level rate for fully connected layers other than the output layer in layerwise pruning (default: --prune-rate)" };
        var outputRate = new Option<double?>("--output-prune-rate") { Description = "Per-level rate for the output layer (the last prunable one) in layerwise pruning (default: the model's recipe, 0.1)" };
        var global = new Option<bool?>("--global") { Description = "One magnitude threshold across all layers instead of a rate per layer (default: the model's recipe: on for vgg*/resnet*, as open_lth; --global false for layerwise)" };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated layers never pruned, e.g. fc3 (default: the model's recipe: fc for vgg*, as open_lth; none otherwise); empty for none" };
        var allowEmpty = new Option<bool>("--allow-empty-layers") { Description = "Let a mask that prunes with one threshold across layers empty a layer (layer collapse) and train on; by default such a mask is refused, naming the layer" };
        var rewind = new Option<int>("--rewind-iteration") { Description = "0 resets survivors to θ₀; k > 0 rewinds them to the dense run's weights after k iterations, and every later level trains iterations k … T (schedule and data order continue from k, fresh optimizer state)", DefaultValueFactory = _ => 0 };
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
        var transferFrom = new Option<string?>("--transfer-from")
        {
            Description = "A finished lottery run of the same model, initialisation and rewind iteration (e.g. on other data): also train, per replicate r and level, its replicate r's ticket (mask and θ₀) on this run's data, and a random mask of the same per-layer densities on the same θ₀, as branches transfer_ID and transfer_ID_random (ID names the source by its settings)",
        };
        var transferLevels = new Option<string>("--transfer-levels")
        {
            Description = "Comma-separated levels of the --transfer-from run to transfer (e.g. 7,12); empty for every pruned level its replicate 0 finished",
            DefaultValueFactory = _ => string.Empty,
        };
        var replicates = new Option<int>("--replicates") { Description = "Repeat the whole run with seeds seed, seed+1, ... for error bars", DefaultValueFactory = _ => 1 };
        var shard = ExperimentRunner.ShardOption();
        var root = new Option<string>("--root") { Description = "Directory holding experiment runs", DefaultValueFactory = _ => "runs" };

        var command = new Command("lottery", "Find lottery tickets by iterative magnitude pruning, next to random-reinitialisation and random-pruning baselines. Interrupted runs resume when the same command is run again.");
        training.AddTo(command);
        foreach (var option in new Option[] { levels, target, rate, convRate, fcRate, outputRate, global, exclude, allowEmpty, rewind, evalEvery, branches, branchLevels, transferFrom, transferLevels, replicates, shard, root })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var recipe = training.Read(parse);
            var defaults = LotteryRecipes.For(recipe.Model);
            double? givenRate = parse.GetValue(rate);
            double pruneRate = givenRate ?? defaults.PruneRate;
            bool isGlobal = parse.GetValue(global) ?? defaults.Global;

            // The recipe's per-type rates hold only while the user sets no rate and keeps pruning layerwise.
            bool recipeRates = givenRate is null && !isGlobal;
            int levelCount = parse.GetValue(target) is { } s ? ExperimentRunner.Usage(() => LotteryConfig.LevelsFor(s, pruneRate)) : parse.GetValue(levels);
            var config = defaults with
            {
                Recipe = recipe,
                Seed = training.Seed(parse),
                DataSeed = training.DataSeed(parse),
                Levels = levelCount,
                PruneRate = pruneRate,
                ConvPruneRate = parse.GetValue(convRate) ?? (recipeRates ? defaults.ConvPruneRate : null),
                FcPruneRate = parse.GetValue(fcRate) ?? (recipeRates ? defaults.FcPruneRate : null),
                OutputPruneRate = parse.GetValue(outputRate) ?? defaults.OutputPruneRate,
                Global = isGlobal,
                Exclude = parse.GetValue(exclude) is { } excluded ? ExperimentRunner.SplitList(excluded) : defaults.Exclude,
                AllowEmptyLayers = parse.GetValue(allowEmpty),
                RewindIteration = parse.GetValue(rewind),
                EvalEvery = parse.GetValue(evalEvery),
                Branches = ExperimentRunner.SplitList(parse.GetValue(branches)),
                BranchLevels = ExperimentRunner.Usage(() => ExperimentRunner.SplitList(parse.GetValue(branchLevels)).Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : throw new ArgumentException($"--branch-levels: '{v}' is not a level number")).ToArray()),
            };
            int n = ExperimentRunner.Validate(parse, replicates, config.Validate);
            var transfer = parse.GetValue(transferFrom) is { } from
                ? new TransferSettings { From = from, Levels = ExperimentRunner.Usage(() => ExperimentRunner.SplitList(parse.GetValue(transferLevels)).Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : throw new ArgumentException($"--transfer-levels: '{v}' is not a level number")).ToArray()) }
                : parse.GetValue(transferLevels) is { Length: > 0 } ? throw new UsageException("--transfer-levels needs --transfer-from: the run whose tickets to transfer") : null;
            return Run(config, n, Shard.Parse(parse.GetValue(shard)!), parse.GetValue(root)!, transfer);
        });
        return command;
    }

    private static int Run(LotteryConfig config, int replicates, Shard shard, string root, TransferSettings? transfer)
    {
        string runDir = LotteryExperiment.DirectoryFor(config, root);
        var experiment = new LotteryExperiment(config, runDir) { Transfer = transfer };
        string transferred = transfer is null ? string.Empty : $", tickets of {transfer.From} at levels {string.Join(",", experiment.TransferLevels)}";
        return ExperimentRunner.Launch(
            $"lottery: {config.Recipe.Model} on {config.Recipe.Data}, {config.Levels} levels, branches [{string.Join(", ", config.Branches)}], {replicates} replicate(s){transferred}",
            runDir,
            replicates,
            shard,
            experiment.UnitCount(replicates, shard),
            (progress, cancel) => experiment.Run(replicates, progress, shard, cancel),
            p => $"replicate {p.Replicate} level {p.Level} {p.Branch}");
    }
}
