using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;

namespace SparseNet.Cli.Commands;

/// <summary>The training recipe read from the command line.</summary>
internal sealed record TrainingSettings(
    string Model,
    string Data,
    int Epochs,
    int BatchSize,
    string Optimizer,
    float LearningRate,
    float Momentum,
    bool Nesterov,
    float WeightDecay,
    int[] LrMilestones,
    float LrGamma,
    int WarmupIterations,
    InitScheme Init,
    int ValidationSize,
    ulong Seed)
{
    public Optimizer CreateOptimizer(Module model) => Optimizer switch
    {
        "adam" => new Adam(model.Parameters(), LearningRate, weightDecay: WeightDecay),
        "sgd" => new Sgd(model.Parameters(), LearningRate, Momentum, Nesterov, WeightDecay),
        _ => throw new UsageException($"unknown optimizer '{Optimizer}'; choose adam or sgd"),
    };

    public LearningRateSchedule CreateSchedule() => new(LearningRate, LrMilestones, LrGamma, WarmupIterations);
}
