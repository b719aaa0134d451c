using System.CommandLine;
using System.Globalization;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet prune-at-init</c>: SNIP, GraSP, SynFlow and baselines, trained and recorded like IMP levels.</summary>
internal static class PruneAtInitCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions(defaultValidationSize: 1000);
        var method = new Option<string>("--method") { Description = $"Comma-separated methods: {string.Join(", ", InitPruner.Methods)}", DefaultValueFactory = _ => "snip" };
        var sparsity = new Option<double?>("--sparsity") { Description = "Fraction of weights removed (default 0.9 unless --sparsities is given)" };
        var sparsities = new Option<string>("--sparsities") { Description = "Comma-separated sparsities to sweep, e.g. 0,0.95,0.98 (0 trains the dense reference)", DefaultValueFactory = _ => string.Empty };
        var iterations = new Option<int>("--prune-iterations") { Description = "Prune in n steps of 1−(1−s)^(1/n) each, rescoring in between; 0 = the method's default (SynFlow 100, others 1)", DefaultValueFactory = _ => 0 };
        var snipBatch = new Option<int>("--snip-batch") { Description = "Examples in SNIP's mini-batch", DefaultValueFactory = _ => 100 };
        var graspPerClass = new Option<int>("--grasp-per-class") { Description = "Examples per class for GraSP (temperature 200, two halves)", DefaultValueFactory = _ => 10 };
        var sanity = new Option<string>("--sanity")
        {
            Description = $"Comma-separated sanity checks beside every mask ({string.Join(", ", PruneAtInitSettings.KnownSanityChecks)}); empty for none",
            DefaultValueFactory = _ => "shuffle,reinit,invert",
        };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated layers never pruned, e.g. fc3 (default: the model's recipe: fc for vgg*, none otherwise); empty for none" };
        var allowEmpty = new Option<bool>("--allow-empty-layers") { Description = "Let a mask that prunes with one threshold across layers empty a layer (layer collapse) and train on; by default such a mask is refused, naming the layer" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate validation and test accuracy every this many iterations", DefaultValueFactory = _ => 100 };
        var replicates = new Option<int>("--replicates") { Description = "Repeat with seeds seed, seed+1, ...", DefaultValueFactory = _ => 1 };
        var shard = ExperimentRunner.ShardOption();
        var root = new Option<string>("--root") { Description = "Directory holding experiment runs (the same run directory as `lottery` with the same training options)", DefaultValueFactory = _ => "runs" };

        var command = new Command("prune-at-init", "Prune at initialisation (SNIP, GraSP, SynFlow, magnitude, random), train the pruned networks, and record them next to IMP in the same run directory.");
        training.AddTo(command);
        foreach (var option in new Option[] { method, sparsity, sparsities, iterations, snipBatch, graspPerClass, sanity, exclude, allowEmpty, evalEvery, replicates, shard, root })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var sweep = ExperimentRunner.SplitList(parse.GetValue(sparsities));
            if (sweep.Length > 0 && parse.GetValue(sparsity) is not null)
            {
                throw new UsageException("give either --sparsity or --sparsities, not both");
            }

            var values = sweep.Length > 0 ? sweep.Select(ParseSparsity).ToArray() : [parse.GetValue(sparsity) ?? 0.9];
            // Starting from the model's lottery settings keeps the run directory the one `lottery` uses for the same options.
            var recipe = training.Read(parse);
            var defaults = LotteryRecipes.For(recipe.Model);
            var config = defaults with
            {
                Recipe = recipe,
                Seed = training.Seed(parse),
                DataSeed = training.DataSeed(parse),
                Exclude = parse.GetValue(exclude) is { } excluded ? ExperimentRunner.SplitList(excluded) : defaults.Exclude,
                AllowEmptyLayers = parse.GetValue(allowEmpty),
                EvalEvery = parse.GetValue(evalEvery),
            };
            var settings = new PruneAtInitSettings
            {
                Methods = ExperimentRunner.SplitList(parse.GetValue(method)),
                Sparsities = values,
                PruneIterations = parse.GetValue(iterations),
                SnipBatch = parse.GetValue(snipBatch),
                GraspPerClass = parse.GetValue(graspPerClass),
                SanityChecks = ExperimentRunner.SplitList(parse.GetValue(sanity)),
            };
            int n = ExperimentRunner.Validate(parse, replicates, () =>
            {
                config.Validate();
                settings.Validate();
            });
            string runDir = LotteryExperiment.DirectoryFor(config, parse.GetValue(root)!);
            return Run(new PruneAtInitExperiment(config, settings, runDir), settings, n, Shard.Parse(parse.GetValue(shard)!), runDir);
        });
        return command;
    }

    private static int Run(PruneAtInitExperiment experiment, PruneAtInitSettings settings, int replicates, Shard shard, string runDir)
    {
        return ExperimentRunner.Launch(
            $"prune-at-init: [{string.Join(", ", settings.Methods)}] at sparsities [{string.Join(", ", settings.Sparsities.Select(s => s.ToString(CultureInfo.InvariantCulture)))}], sanity checks [{string.Join(", ", settings.SanityChecks)}], {replicates} replicate(s)",
            runDir,
            replicates,
            shard,
            experiment.UnitCount(replicates, shard),
            (progress, cancel) => experiment.Run(replicates, progress, shard, cancel),
            p => $"replicate {p.Replicate} {p.Branch} sparsity {p.Level / 1000.0:F3}");
    }

    private static double ParseSparsity(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw new UsageException($"--sparsities: '{text}' is not a number");
}
