using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a built-in model on uniform random input: forward, softmax cross-entropy, backward and
/// the optimizer (Adam at batch 60 unless a subclass says otherwise), exactly as <c>Trainer.Step</c> runs it (the
/// batch is already gathered; activations recycled by a TensorArena).
/// </summary>
[MemoryDiagnoser]
public abstract class TrainStepBenchmark(string model, int[] inputShape, float learningRate, int batch = 60, Func<Module, float, Optimizer>? optimizer = null)
{
    private StepRunner _step = null!;

    [GlobalSetup]
    public void Setup()
    {
        var net = ModelZoo.Create(model, inputShape, 10, InitScheme.GlorotNormal, 1);
        var (x, y) = StepRunner.RandomBatch(new Philox(1, 99), batch, inputShape);
        _step = new StepRunner(net, optimizer is null ? new Adam(net.Parameters(), learningRate) : optimizer(net, learningRate), x, y);
    }

    [Benchmark]
    public float TrainStep() => _step.Run();
}
