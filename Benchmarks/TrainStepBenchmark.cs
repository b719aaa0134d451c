using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a built-in model on uniform random input: forward, softmax cross-entropy, backward and
/// the optimizer (Adam at batch 60 unless a subclass says otherwise), exactly as <c>Trainer.Step</c> runs it (the
/// batch is already gathered; activations recycled by a TensorArena).
/// </summary>
[MemoryDiagnoser]
public abstract class TrainStepBenchmark(string model, int[] inputShape, float learningRate, int batch = 60, Func<Module, float, Optimizer>? optimizer = null)
{
    private Module _model = null!;
    private Optimizer _optimizer = null!;
    private Tensor _x = null!;
    private int[] _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelZoo.Create(model, inputShape, 10, InitScheme.GlorotNormal, 1);
        _optimizer = optimizer is null ? new Adam(_model.Parameters(), learningRate) : optimizer(_model, learningRate);
        var rng = new Philox(1, 99);
        var x = new float[batch * inputShape.Aggregate(1, (a, b) => a * b)];
        rng.FillUniform(x, 0f, 1f);
        _x = Tensor.FromArray(x, [batch, .. inputShape]);
        _y = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
    }

    private readonly TensorArena _arena = new();

    [Benchmark]
    public float TrainStep()
    {
        _optimizer.ZeroGrad();
        float value;
        using (_arena.Enter())
        {
            var loss = Tensor.SoftmaxCrossEntropy(_model.Forward(_x), _y);
            value = loss.Item();
            Gradients.Backward(loss);
        }

        _optimizer.Step();
        return value;
    }
}
