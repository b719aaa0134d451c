using System.CommandLine;
using System.Globalization;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;

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
        Description = "Dataset: mnist-10k (built in), fashion-mnist (/usr/share/datasets/fashion-mnist), or a directory with the four IDX files",
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

    private readonly Option<int> _validation = new("--validation-size")
    {
        Description = "Training examples held out (not trained on) as a validation set",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<ulong> _seed = new("--seed") { Description = "Seed for weights, data order and any randomness", DefaultValueFactory = _ => 1UL };

    public TrainingOptions()
    {
        _model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        _optimizer.AcceptOnlyFromAmong("adam", "sgd");
        _init.AcceptOnlyFromAmong("glorot", "kaiming");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _model, _data, _epochs, _batchSize, _optimizer, _lr, _momentum, _nesterov, _weightDecay, _milestones, _gamma, _warmup, _init, _validation, _seed })
        {
            command.Options.Add(option);
        }
    }

    public TrainingSettings Read(ParseResult parse)
    {
        var settings = new TrainingSettings(
        parse.GetValue(_model)!,
        parse.GetValue(_data)!,
        parse.GetValue(_epochs),
        parse.GetValue(_batchSize),
        parse.GetValue(_optimizer)!,
        parse.GetValue(_lr),
        parse.GetValue(_momentum),
        parse.GetValue(_nesterov),
        parse.GetValue(_weightDecay),
        ParseMilestones(parse.GetValue(_milestones) ?? string.Empty),
        parse.GetValue(_gamma),
        parse.GetValue(_warmup),
        parse.GetValue(_init) == "kaiming" ? InitScheme.KaimingNormal : InitScheme.GlorotNormal,
        parse.GetValue(_validation),
        parse.GetValue(_seed));
        Validate(settings);
        return settings;
    }

    // Range checks run after parsing, so a value that does not even parse is reported by the parser itself.
    private static void Validate(TrainingSettings s)
    {
        Require(s.Epochs > 0, $"--epochs must be positive, got {s.Epochs}");
        Require(s.BatchSize > 0, $"--batch-size must be positive, got {s.BatchSize}");
        Require(s.LearningRate > 0f && float.IsFinite(s.LearningRate), $"--lr must be a positive finite number, got {F(s.LearningRate)}");
        Require(s.Momentum >= 0f && s.Momentum < 1f, $"--momentum must be in [0, 1), got {F(s.Momentum)}");
        Require(!s.Nesterov || (s.Optimizer == "sgd" && s.Momentum > 0f), "--nesterov needs --optimizer sgd and --momentum > 0");
        Require(s.WeightDecay >= 0f && float.IsFinite(s.WeightDecay), $"--weight-decay must be ≥ 0, got {F(s.WeightDecay)}");
        Require(s.LrGamma > 0f && float.IsFinite(s.LrGamma), $"--lr-gamma must be positive, got {F(s.LrGamma)}");
        Require(s.WarmupIterations >= 0, $"--warmup must be ≥ 0, got {s.WarmupIterations}");
        Require(s.ValidationSize >= 0, $"--validation-size must be ≥ 0, got {s.ValidationSize}");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new UsageException(message);
        }
    }

    private static string F(float v) => v.ToString(CultureInfo.InvariantCulture);

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
