using System.CommandLine;
using System.Globalization;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Cli.Commands;

/// <summary>
/// <c>sparsenet supermask</c>: a mask found on frozen random weights by edge-popup (Ramanujan et al. 2020), beside a
/// random mask of the same density on the same weights.
/// </summary>
internal static class SupermaskCommand
{
    private const string FromRecipe = "default: the model's supermask recipe";

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"Architecture: {ModelZoo.NamesHelp}", DefaultValueFactory = _ => "lenet_300_100" };
        TrainingOptions.AcceptModelNames(model);
        var data = new Option<string>("--data") { Description = "Dataset: mnist-10k (built in), fashion-mnist, cifar10, or a directory with the four IDX files or the CIFAR-10 batches (see `sparsenet train --help`)", DefaultValueFactory = _ => DatasetCatalog.Mnist10k };
        var density = new Option<double>("--density") { Description = "Fraction of each layer's weights the mask keeps, in (0, 1]", DefaultValueFactory = _ => 0.5 };
        var weights = new Option<string>("--weights") { Description = "Frozen random weights: signed-constant (±√(2/fan_in), signs of a Kaiming normal draw) or kaiming-normal (N(0, 2/fan_in))", DefaultValueFactory = _ => "signed-constant" };
        weights.AcceptOnlyFromAmong("signed-constant", "kaiming-normal");
        var epochs = new Option<int?>("--epochs") { Description = $"Epochs of score training ({FromRecipe}: the model's weight-training epochs, e.g. 20 for lenet_300_100)" };
        var iterations = new Option<int?>("--iterations") { Description = "Iterations of score training, in place of --epochs" };
        var batchSize = new Option<int?>("--batch-size") { Description = $"Examples per mini-batch ({FromRecipe}, e.g. 60)" };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimizer of the scores: adam or sgd (with --momentum)", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("sgd", "adam");
        var lr = new Option<float?>("--lr") { Description = "Learning rate of the scores (default: 0.001 with adam, 0.1 with sgd)" };
        var momentum = new Option<float>("--momentum") { Description = "SGD momentum of the scores (with --optimizer sgd)", DefaultValueFactory = _ => 0.9f };
        var weightDecay = new Option<float>("--weight-decay") { Description = "L2 weight decay of the scores", DefaultValueFactory = _ => 0f };
        var validation = new Option<int>("--validation-size") { Description = "Training examples held out (not trained on) as a validation set", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the frozen weights, the scores and the random mask (replicate r adds r)", DefaultValueFactory = _ => 1UL };
        var dataSeed = new Option<ulong?>("--data-seed") { Description = "Seed of the data order alone; default: --seed (replicate r adds r)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate validation and test accuracy every this many iterations", DefaultValueFactory = _ => 100 };
        var replicates = new Option<int>("--replicates") { Description = "Repeat with seeds seed, seed+1, ... for error bars", DefaultValueFactory = _ => 1 };
        var shard = ExperimentRunner.ShardOption();
        var root = new Option<string>("--root") { Description = "Directory holding experiment runs", DefaultValueFactory = _ => "runs" };
        var device = TrainingOptions.DeviceOption();
        device.Description = "Where to train: cpu (auto picks it too); the score update of edge-popup (straight-through top-k) runs on the host, so supermask does not run on a GPU";

        var command = new Command("supermask", "Find a supermask: freeze the weights at a random initialisation and train only a score per weight (edge-popup, Ramanujan et al. 2020); each layer uses the weights of its top --density fraction of scores. Beside it, a random mask of the same density on the same weights is evaluated. The weights are never trained. Interrupted runs resume when the same command is run again.");
        foreach (var option in new Option[] { model, data, density, weights, epochs, iterations, batchSize, optimizer, lr, momentum, weightDecay, validation, seed, dataSeed, evalEvery, replicates, shard, root, device })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            if (parse.GetValue(device) is not ("cpu" or "auto"))
            {
                throw new UsageException($"supermask runs on the CPU only (edge-popup's top-k score update is host code), not on --device {parse.GetValue(device)}; use --device cpu");
            }

            TrainingOptions.ResolveDevice("cpu");

            if (parse.GetValue(epochs) is not null && parse.GetValue(iterations) is not null)
            {
                throw new UsageException("--epochs and --iterations both set the length of score training; give at most one");
            }

            var recipe = ExperimentRunner.Usage(() => SupermaskConfig.RecipeFor(parse.GetValue(model)!));
            string opt = parse.GetValue(optimizer)!;
            recipe = recipe with
            {
                Data = parse.GetValue(data)!,
                Epochs = parse.GetValue(epochs) ?? recipe.Epochs,
                BatchSize = parse.GetValue(batchSize) ?? recipe.BatchSize,
                Optimizer = opt,
                LearningRate = parse.GetValue(lr) ?? (opt == "adam" ? 1e-3f : 0.1f),
                Momentum = opt == "sgd" ? parse.GetValue(momentum) : 0f,
                WeightDecay = parse.GetValue(weightDecay),
                ValidationSize = parse.GetValue(validation),
            };
            var config = new SupermaskConfig
            {
                Training = new LotteryConfig
                {
                    Recipe = recipe,
                    Seed = parse.GetValue(seed),
                    DataSeed = parse.GetValue(dataSeed),
                    EvalEvery = parse.GetValue(evalEvery),
                    Levels = 1,
                    Branches = [],
                },
                Density = parse.GetValue(density),
                Iterations = parse.GetValue(iterations),
                Weights = parse.GetValue(weights) == "kaiming-normal" ? SupermaskWeights.KaimingNormal : SupermaskWeights.SignedConstant,
            };
            int n = ExperimentRunner.Validate(parse, replicates, config.Validate);
            return Run(config, n, Shard.Parse(parse.GetValue(shard)!), parse.GetValue(root)!);
        });
        return command;
    }

    private static int Run(SupermaskConfig config, int replicates, Shard shard, string root)
    {
        string runDir = SupermaskExperiment.DirectoryFor(config, root);
        var experiment = new SupermaskExperiment(config, runDir);
        var r = config.Training.Recipe;
        return ExperimentRunner.Launch(
            string.Create(CultureInfo.InvariantCulture, $"supermask: {r.Model} on {r.Data}, density {config.Density}, {SupermaskConfig.WeightsName(config.Weights)} weights (never trained), scores by {r.Optimizer} at {r.LearningRate} for {(config.Iterations is { } t ? $"{t} iterations" : $"{r.Epochs} epochs")}, {replicates} replicate(s)"),
            runDir,
            replicates,
            shard,
            SupermaskExperiment.UnitCount(replicates, shard),
            (progress, cancel) => experiment.Run(replicates, progress, shard, cancel),
            p => $"replicate {p.Replicate} {p.Branch}");
    }
}
