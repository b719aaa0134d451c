using System.CommandLine;
using System.Globalization;
using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;

namespace SparseNet.Cli.Commands;

/// <summary>
/// The options every training command shares. An option left out takes the value of the model's published recipe
/// (<see cref="ModelRecipes.For"/>; for the default model, LeNet-300-100, the recipe of Frankle and Carbin 2019).
/// </summary>
internal sealed class TrainingOptions
{
    private const string FromRecipe = "default: the model's recipe, see --model";

    private readonly Option<string> _model = new("--model")
    {
        Description = $"Architecture: {ModelZoo.NamesHelp}. Training (and pruning) options left out take the model's published recipe: "
            + "lenet_300_100 Adam 1.2e-3, batch 60, 20 epochs, Glorot init; conv2/conv4/conv6 Adam 2e-4/3e-4/3e-4, batch 60, 27/34/40 epochs (20K/25K/30K iterations on CIFAR-10), Glorot init (Frankle and Carbin 2019); "
            + "vgg*/resnet* SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, 160 epochs, learning rate ×0.1 after epochs 80 and 120, Kaiming init (open_lth)",
        DefaultValueFactory = _ => "lenet_300_100",
    };

    private readonly Option<string> _data = new("--data")
    {
        Description = "Dataset: mnist-10k (built in), fashion-mnist (/usr/share/datasets/fashion-mnist), cifar10 ($SPARSENET_CIFAR10, else ~/.cache/sparsenet/cifar-10-batches-bin or /usr/share/datasets/cifar-10-batches-bin; binary version from https://www.cs.toronto.edu/~kriz/cifar.html), or a directory with the four IDX files or the CIFAR-10 batches",
        DefaultValueFactory = _ => DatasetCatalog.Mnist10k,
    };

    private readonly Option<int?> _epochs = new("--epochs") { Description = $"Training epochs ({FromRecipe})" };

    private readonly Option<int?> _batchSize = new("--batch-size") { Description = $"Examples per mini-batch ({FromRecipe})" };

    private readonly Option<string?> _optimizer = new("--optimizer") { Description = $"adam or sgd ({FromRecipe})" };

    private readonly Option<float?> _lr = new("--lr") { Description = $"Learning rate ({FromRecipe})" };

    private readonly Option<float?> _momentum = new("--momentum") { Description = $"SGD momentum ({FromRecipe})" };

    private readonly Option<bool> _nesterov = new("--nesterov") { Description = "Use Nesterov momentum (SGD)" };

    private readonly Option<float?> _weightDecay = new("--weight-decay") { Description = $"L2 weight decay ({FromRecipe})" };

    private readonly Option<string?> _milestones = new("--lr-milestones")
    {
        Description = $"Comma-separated iterations (e.g. 8000,12000) or epochs (e.g. 80ep,120ep) after which the learning rate is multiplied by --lr-gamma; empty for a constant rate ({FromRecipe})",
    };

    private readonly Option<float?> _gamma = new("--lr-gamma") { Description = $"Learning-rate decay factor at each milestone ({FromRecipe})" };

    private readonly Option<int?> _warmup = new("--warmup") { Description = $"Iterations of linear learning-rate warm-up ({FromRecipe})" };

    private readonly Option<string?> _init = new("--init") { Description = $"Weight initialisation: glorot (Xavier normal) or kaiming (He normal) ({FromRecipe})" };

    private readonly Option<string> _device = DeviceOption();

    private readonly Option<string> _sparse = SparseOption();

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
        AcceptModelNames(_model);
        _optimizer.AcceptOnlyFromAmong("adam", "sgd");
        _init.AcceptOnlyFromAmong("glorot", "kaiming");
    }

    /// <summary>Makes <paramref name="option"/> refuse anything but a built-in model's name, saying what is wrong with it (e.g. a ResNet depth that is not 6n+2).</summary>
    public static void AcceptModelNames(Option<string> option) => option.Validators.Add(result =>
    {
        try
        {
            ModelZoo.CheckName(result.GetValueOrDefault<string>() ?? string.Empty);
        }
        catch (Engine.SettingsException e)
        {
            result.AddError(e.Message);
        }
    });

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _model, _data, _epochs, _batchSize, _optimizer, _lr, _momentum, _nesterov, _weightDecay, _milestones, _gamma, _warmup, _init, _validation, _trainExamples, _augment, _noAugment, _seed, _dataSeed, _device, _sparse })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The model's recipe (<see cref="ModelRecipes.For"/>) with every option given on the command line in place of its value.</summary>
    public TrainingRecipe Read(ParseResult parse)
    {
        bool augment = parse.GetValue(_augment), noAugment = parse.GetValue(_noAugment);
        if (augment && noAugment)
        {
            throw new UsageException("--augment and --no-augment contradict each other; give at most one");
        }

        string model = parse.GetValue(_model)!;
        var defaults = ExperimentRunner.Usage(() => ModelRecipes.For(model));
        var (milestones, milestoneEpochs) = parse.GetValue(_milestones) is { } text ? ParseMilestones(text) : (defaults.LrMilestones, defaults.LrMilestoneEpochs);
        var recipe = defaults with
        {
            Data = parse.GetValue(_data)!,
            Epochs = parse.GetValue(_epochs) ?? defaults.Epochs,
            BatchSize = parse.GetValue(_batchSize) ?? defaults.BatchSize,
            Optimizer = parse.GetValue(_optimizer) ?? defaults.Optimizer,
            LearningRate = parse.GetValue(_lr) ?? defaults.LearningRate,
            Momentum = parse.GetValue(_momentum) ?? defaults.Momentum,
            Nesterov = parse.GetValue(_nesterov) || defaults.Nesterov,
            WeightDecay = parse.GetValue(_weightDecay) ?? defaults.WeightDecay,
            LrMilestones = milestones,
            LrMilestoneEpochs = milestoneEpochs,
            LrGamma = parse.GetValue(_gamma) ?? defaults.LrGamma,
            WarmupIterations = parse.GetValue(_warmup) ?? defaults.WarmupIterations,
            Init = parse.GetValue(_init) switch
            {
                "kaiming" => InitScheme.KaimingNormal,
                "glorot" => InitScheme.GlorotNormal,
                _ => defaults.Init,
            },
            ValidationSize = parse.GetValue(_validation),
            TrainExamples = parse.GetValue(_trainExamples),
            Augment = augment ? true : noAugment ? false : null,
            Device = ResolveDevice(parse.GetValue(_device)!).Name,
            Sparse = Enum.Parse<SparseMode>(parse.GetValue(_sparse)!, ignoreCase: true),
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

    /// <summary>The <c>--device</c> option of the commands that train.</summary>
    public static Option<string> DeviceOption()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where to train: cpu, cuda (the first NVIDIA GPU), opencl (the first OpenCL 2.0+ device), auto (cuda, else opencl, else cpu), "
                + "or ilgpu-cpu (the GPU kernels on ILGPU's CPU accelerator: slow, for checking the GPU path without a GPU). "
                + "A run's directory records its device: runs on different devices never share one",
            DefaultValueFactory = _ => "cpu",
        };
        option.AcceptOnlyFromAmong([.. AcceleratorDevices.Choices]);
        return option;
    }

    /// <summary>The <c>--sparse</c> option of the commands that train.</summary>
    public static Option<string> SparseOption()
    {
        var option = new Option<string>("--sparse")
        {
            Description = "Run pruned layers on the compressed form of their masks: auto (where it is faster on this machine, by a crossover measured once per "
                + "layer shape and kept in ~/.cache/sparsenet), on (every pruned layer) or off (dense kernels on the masked weights, as PyTorch does). "
                + "The paths agree to float rounding; a run's directory records a choice other than auto",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "on", "off");
        return option;
    }

    /// <summary>The device for a <c>--device</c> value, said once on stdout; one that is absent is a usage error (exit 2).</summary>
    public static Device ResolveDevice(string choice)
    {
        Device device;
        try
        {
            device = AcceleratorDevices.Resolve(choice);
        }
        catch (DeviceUnavailableException e)
        {
            throw new UsageException(e.Message);
        }

        CliRunner.Say($"device: {device.Description}");
        return device;
    }

    /// <summary>The data-order seed given with <c>--data-seed</c>, or null to use <see cref="Seed"/>.</summary>
    public ulong? DataSeed(ParseResult parse) => parse.GetValue(_dataSeed);

    // "8000,12000" are iterations, "80ep,120ep" epochs (open_lth's notation); one list takes one unit.
    private static (int[] Iterations, int[] Epochs) ParseMilestones(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ([], []);
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        bool epochs = parts[0].EndsWith("ep", StringComparison.Ordinal);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string number = !epochs ? parts[i] : parts[i].EndsWith("ep", StringComparison.Ordinal) ? parts[i][..^2] : "(iterations among epochs)";
            if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] <= 0 || (i > 0 && result[i] <= result[i - 1]))
            {
                throw new UsageException($"--lr-milestones '{text}': expected increasing positive iterations (8000,12000) or epochs (80ep,120ep) separated by commas");
            }
        }

        return epochs ? ([], result) : (result, []);
    }
}
