using System.CommandLine;
using System.Globalization;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;

namespace SparseNet.Cli.Commands;

/// <summary>The options every training command shares, with their defaults (the LeNet-300-100 recipe of Frankle and Carbin 2019).</summary>
internal sealed class TrainingOptions
{
    private readonly Option<string> _model = new("--model")
    {
        Description = $"Architecture: {string.Join(", ", ModelZoo.Names)}",
        DefaultValueFactory = _ => "lenet_300_100",
    };

    private readonly Option<string> _data = new("--data")
    {
        Description = "Dataset: mnist-10k (built in), fashion-mnist (/usr/share/datasets/fashion-mnist), cifar10 ($SPARSENET_CIFAR10, else ~/.cache/sparsenet/cifar-10-batches-bin or /usr/share/datasets/cifar-10-batches-bin; binary version from https://www.cs.toronto.edu/~kriz/cifar.html), or a directory with the four IDX files or the CIFAR-10 batches",
        DefaultValueFactory = _ => DatasetCatalog.Mnist10k,
    };

    private readonly Option<int> _epochs = new("--epochs") { Description = "Training epochs", DefaultValueFactory = _ => 20 };

    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Examples per mini-batch", DefaultValueFactory = _ => 60 };

    private readonly Option<string> _optimizer = new("--optimizer") { Description = "adam or sgd", DefaultValueFactory = _ => "adam" };

    private readonly Option<float> _lr = new("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 1.2e-3f };

    private readonly Option<float> _momentum = new("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0f };

    private readonly Option<bool> _nesterov = new("--nesterov") { Description = "Use Nesterov momentum (SGD)" };

    private readonly Option<float> _weightDecay = new("--weight-decay") { Description = "L2 weight decay", DefaultValueFactory = _ => 0f };

    private readonly Option<string> _milestones = new("--lr-milestones")
    {
        Description = "Comma-separated iterations at which the learning rate is multiplied by --lr-gamma (e.g. 8000,12000); empty for a constant rate",
        DefaultValueFactory = _ => string.Empty,
    };

    private readonly Option<float> _gamma = new("--lr-gamma") { Description = "Learning-rate decay factor at each milestone", DefaultValueFactory = _ => 0.1f };

    private readonly Option<int> _warmup = new("--warmup") { Description = "Iterations of linear learning-rate warm-up", DefaultValueFactory = _ => 0 };

    private readonly Option<string> _init = new("--init") { Description = "Weight initialisation: glorot (Xavier normal) or kaiming (He normal)", DefaultValueFactory = _ => "glorot" };

    private readonly Option<int> _validation;

    private readonly Option<int> _trainExamples = new("--train-examples")
    {
        Description = "Train on a fixed random subset of this many training examples (after the validation hold-out, chosen by --seed) for a reduced budget; 0 for all",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<bool> _augment = new("--augment") { Description = "Augment training batches with random 4-pixel crops and horizontal flips (default: on for cifar10, off for the MNIST family)" };

    private readonly Option<bool> _noAugment = new("--no-augment") { Description = "Do not augment training batches, even on cifar10" };

    private readonly Option<ulong> _seed = new("--seed") { Description = "Seed for weights, data order and any randomness", DefaultValueFactory = _ => 1UL };

    private readonly Option<ulong?> _dataSeed = new("--data-seed") { Description = "Seed of the data order (batches and augmentation) alone, separate from the weights' seed; default: --seed (replicate r adds r)" };

    public TrainingOptions(int defaultValidationSize = 0)
    {
        _validation = new("--validation-size")
        {
            Description = "Training examples held out (not trained on) as a validation set",
            DefaultValueFactory = _ => defaultValidationSize,
        };
        _model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        _optimizer.AcceptOnlyFromAmong("adam", "sgd");
        _init.AcceptOnlyFromAmong("glorot", "kaiming");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _model, _data, _epochs, _batchSize, _optimizer, _lr, _momentum, _nesterov, _weightDecay, _milestones, _gamma, _warmup, _init, _validation, _trainExamples, _augment, _noAugment, _seed, _dataSeed })
        {
            command.Options.Add(option);
        }
    }

    public TrainingRecipe Read(ParseResult parse)
    {
        bool augment = parse.GetValue(_augment), noAugment = parse.GetValue(_noAugment);
        if (augment && noAugment)
        {
            throw new UsageException("--augment and --no-augment contradict each other; give at most one");
        }

        var recipe = new TrainingRecipe
        {
            Model = parse.GetValue(_model)!,
            Data = parse.GetValue(_data)!,
            Epochs = parse.GetValue(_epochs),
            BatchSize = parse.GetValue(_batchSize),
            Optimizer = parse.GetValue(_optimizer)!,
            LearningRate = parse.GetValue(_lr),
            Momentum = parse.GetValue(_momentum),
            Nesterov = parse.GetValue(_nesterov),
            WeightDecay = parse.GetValue(_weightDecay),
            LrMilestones = ParseMilestones(parse.GetValue(_milestones) ?? string.Empty),
            LrGamma = parse.GetValue(_gamma),
            WarmupIterations = parse.GetValue(_warmup),
            Init = parse.GetValue(_init) == "kaiming" ? InitScheme.KaimingNormal : InitScheme.GlorotNormal,
            ValidationSize = parse.GetValue(_validation),
            TrainExamples = parse.GetValue(_trainExamples),
            Augment = augment ? true : noAugment ? false : null,
        };
        try
        {
            recipe.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        return recipe;
    }

    public ulong Seed(ParseResult parse) => parse.GetValue(_seed);

    /// <summary>The data-order seed given with <c>--data-seed</c>, or null to use <see cref="Seed"/>.</summary>
    public ulong? DataSeed(ParseResult parse) => parse.GetValue(_dataSeed);

    private static int[] ParseMilestones(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] <= 0 || (i > 0 && result[i] <= result[i - 1]))
            {
                throw new UsageException($"--lr-milestones '{text}': expected increasing positive iterations separated by commas");
            }
        }

        return result;
    }
}
