using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;

namespace SparseNet.Engine.Training;

/// <summary>
/// How a network is built and trained: architecture, data, initialisation, optimizer and schedule. The
/// defaults are the LeNet-300-100 recipe of Frankle and Carbin (2019): Glorot normal initialisation, Adam
/// at 1.2e-3, batch 60, 20 epochs; <see cref="ModelRecipes.For"/> gives the published recipe of every other model.
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary>Architecture name (see <see cref="ModelZoo.Names"/>).</summary>
    public string Model { get; init; } = "lenet_300_100";

    /// <summary>Dataset: <c>mnist-10k</c>, <c>fashion-mnist</c>, <c>cifar10</c> or a directory (see <see cref="DatasetCatalog.Load"/>).</summary>
    public string Data { get; init; } = "mnist-10k";

    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Examples per mini-batch.</summary>
    public int BatchSize { get; init; } = 60;

    /// <summary><c>adam</c> or <c>sgd</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Base learning rate.</summary>
    public float LearningRate { get; init; } = 1.2e-3f;

    /// <summary>SGD momentum.</summary>
    public float Momentum { get; init; }

    /// <summary>Nesterov momentum (SGD).</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Iterations at which the learning rate is multiplied by <see cref="LrGamma"/>.</summary>
    public IReadOnlyList<int> LrMilestones { get; init; } = [];

    /// <summary>
    /// Epochs after which the learning rate is multiplied by <see cref="LrGamma"/> (open_lth's <c>80ep,120ep</c>), turned
    /// into iterations once the number of batches per epoch is known (<see cref="CreateSchedule(int)"/>); give these or
    /// <see cref="LrMilestones"/>, not both.
    /// </summary>
    public IReadOnlyList<int> LrMilestoneEpochs { get; init; } = [];

    /// <summary>Decay factor per milestone.</summary>
    public float LrGamma { get; init; } = 0.1f;

    /// <summary>Iterations of linear warm-up.</summary>
    public int WarmupIterations { get; init; }

    /// <summary>Weight initialisation.</summary>
    public InitScheme Init { get; init; } = InitScheme.GlorotNormal;

    /// <summary>Training examples held out as a validation set.</summary>
    public int ValidationSize { get; init; }

    /// <summary>
    /// Train on a fixed random subset of this many training examples (after the validation hold-out), for
    /// reduced-budget runs; 0 (the default) trains on all of them. See <see cref="SelectTrainExamples"/>.
    /// </summary>
    public int TrainExamples { get; init; }

    /// <summary>
    /// Whether training batches get <see cref="RandomCropFlip"/> (random crops and flips); null (the default) follows
    /// the data's <see cref="Dataset.AugmentByDefault"/>: on for CIFAR-10, off for the MNIST family.
    /// </summary>
    public bool? Augment { get; init; }

    /// <summary>
    /// Where training runs: <c>cpu</c> (the default), or a GPU device name of <see cref="Devices.AcceleratorDevices"/>
    /// (<c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>). Weights are initialised on the host either way, so a seed gives
    /// the same initial weights on every device; the arithmetic after that is the device's own.
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Whether pruned layers run on the compressed form of their masks: <see cref="SparseMode.Auto"/> (the default)
    /// where it is faster on this machine (<see cref="SparseCrossover"/>), <see cref="SparseMode.On"/> wherever there
    /// is a mask, <see cref="SparseMode.Off"/> never. The two paths agree to float rounding; each gives the same bits
    /// run to run.
    /// </summary>
    public SparseMode Sparse { get; init; }

    /// <summary>The device <see cref="Device"/> names, made available on first use.</summary>
    /// <exception cref="Devices.DeviceUnavailableException">This machine has no such device.</exception>
    public Devices.Device ResolveDevice() => Devices.AcceleratorDevices.Resolve(Device);

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        ModelZoo.CheckName(Model);
        Require(Epochs > 0, $"epochs must be positive, got {Epochs}");
        Require(BatchSize > 0, $"batch size must be positive, got {BatchSize}");
        Require(Optimizer is "adam" or "sgd", $"unknown optimizer '{Optimizer}'; choose adam or sgd");
        Require(LearningRate > 0f && float.IsFinite(LearningRate), $"learning rate must be a positive finite number, got {LearningRate}");
        Require(Momentum >= 0f && Momentum < 1f, $"momentum must be in [0, 1), got {Momentum}");
        Require(!Nesterov || (Optimizer == "sgd" && Momentum > 0f), "Nesterov momentum needs the sgd optimizer and momentum > 0");
        Require(WeightDecay >= 0f && float.IsFinite(WeightDecay), $"weight decay must be ≥ 0, got {WeightDecay}");
        Require(LrGamma > 0f && float.IsFinite(LrGamma), $"learning-rate gamma must be positive, got {LrGamma}");
        Require(LrMilestones.Count == 0 || LrMilestoneEpochs.Count == 0, $"learning-rate milestones are given both in iterations ({string.Join(",", LrMilestones)}) and in epochs ({string.Join(",", LrMilestoneEpochs)}); give one");
        Require(Increasing(LrMilestones) && Increasing(LrMilestoneEpochs), $"learning-rate milestones must be positive and increasing, got {string.Join(",", LrMilestones.Concat(LrMilestoneEpochs))}");
        Require(WarmupIterations >= 0, $"warm-up must be ≥ 0 iterations, got {WarmupIterations}");
        Require(ValidationSize >= 0, $"validation size must be ≥ 0, got {ValidationSize}");
        Require(TrainExamples >= 0, $"train examples must be ≥ 0 (0: all of them), got {TrainExamples}");
        // A recipe names the device a run used, so auto (a choice made when the run starts) is not one of them.
        Require(Device != "auto" && Devices.AcceleratorDevices.Choices.Contains(Device), $"unknown device '{Device}'; choose {string.Join(", ", Devices.AcceleratorDevices.Choices.Where(c => c != "auto"))}");
    }

    /// <summary>
    /// The training examples to train on: all of <paramref name="train"/> when <see cref="TrainExamples"/> is 0, else a
    /// fixed subset of that many chosen by <paramref name="seed"/> (see <see cref="Dataset.Sample"/>); more than the
    /// data holds is a <see cref="SettingsException"/> naming both numbers and the data.
    /// </summary>
    /// <param name="train">Training examples left after the validation hold-out.</param>
    /// <param name="seed">Data seed (the one the validation split uses).</param>
    public Dataset SelectTrainExamples(Dataset train, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (TrainExamples == 0)
        {
            return train;
        }

        if (TrainExamples < 0 || TrainExamples > train.Count)
        {
            string heldOut = ValidationSize > 0 ? $" left after holding out {ValidationSize} for validation" : string.Empty;
            throw new SettingsException($"train examples {TrainExamples} must be in 1 to the {train.Count} training examples of '{Data}'{heldOut}");
        }

        return train.Sample(TrainExamples, seed);
    }

    /// <summary>The augmentation of training batches on <paramref name="train"/>: per <see cref="Augment"/>, or the data's default; null for none.</summary>
    /// <exception cref="SettingsException">Augmentation is asked for, but the examples are not images [channels, height, width].</exception>
    public RandomCropFlip? AugmentationFor(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        return (Augment ?? train.AugmentByDefault) ? RandomCropFlip.For(train) : null;
    }

    /// <summary>
    /// Holds <see cref="ValidationSize"/> examples of <paramref name="train"/> out as the validation set, chosen by
    /// <paramref name="seed"/> (see <see cref="Dataset.Split"/>); a size the data cannot spare is a
    /// <see cref="SettingsException"/> naming the data.
    /// </summary>
    public (Dataset Train, Dataset Validation) HoldOutValidation(Dataset train, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (ValidationSize >= train.Count)
        {
            throw new SettingsException($"validation size {ValidationSize} must be smaller than the {train.Count} training examples of '{Data}'");
        }

        return train.Split(ValidationSize, seed);
    }

    /// <summary>The optimizer over <paramref name="model"/>'s parameters.</summary>
    public Optimizer CreateOptimizer(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Optimizer switch
        {
            "adam" => new Adam(model.Parameters(), LearningRate, weightDecay: WeightDecay),
            "sgd" => new Sgd(model.Parameters(), LearningRate, Momentum, Nesterov, WeightDecay),
            _ => throw new SettingsException($"unknown optimizer '{Optimizer}'; choose adam or sgd"),
        };
    }

    /// <summary>The learning-rate schedule of a recipe whose milestones are in iterations (<see cref="LrMilestones"/>).</summary>
    /// <exception cref="InvalidOperationException">The milestones are in epochs: use <see cref="CreateSchedule(int)"/>.</exception>
    public LearningRateSchedule CreateSchedule() => LrMilestoneEpochs.Count == 0
        ? new(LearningRate, LrMilestones, LrGamma, WarmupIterations)
        : throw new InvalidOperationException($"the learning-rate milestones are in epochs ({string.Join(",", LrMilestoneEpochs)}); the schedule needs the iterations per epoch");

    /// <summary>
    /// The learning-rate schedule for <paramref name="iterationsPerEpoch"/> batches per epoch: milestones in epochs become
    /// iterations (epoch e ends at iteration e × <paramref name="iterationsPerEpoch"/>).
    /// </summary>
    public LearningRateSchedule CreateSchedule(int iterationsPerEpoch)
    {
        if (iterationsPerEpoch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(iterationsPerEpoch), iterationsPerEpoch, "iterations per epoch must be positive");
        }

        return new(LearningRate, MilestoneIterations(iterationsPerEpoch), LrGamma, WarmupIterations);
    }

    /// <summary>Batches per epoch on <paramref name="trainCount"/> training examples (the last batch may be smaller).</summary>
    public int IterationsPerEpoch(int trainCount) => new BatchSampler(trainCount, BatchSize, shuffle: false, seed: 0).BatchesPerEpoch;

    /// <summary>The milestones in iterations for <paramref name="iterationsPerEpoch"/> batches per epoch.</summary>
    public IReadOnlyList<int> MilestoneIterations(int iterationsPerEpoch) =>
        LrMilestoneEpochs.Count == 0 ? LrMilestones : LrMilestoneEpochs.Select(e => checked(e * iterationsPerEpoch)).ToArray();

    private static bool Increasing(IReadOnlyList<int> values) => values.Select((v, i) => v > 0 && (i == 0 || v > values[i - 1])).All(ok => ok);

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SettingsException(message);
        }
    }
}
