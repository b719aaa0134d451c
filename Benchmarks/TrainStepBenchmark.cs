using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a built-in model at batch 60 on uniform random input: forward, softmax cross-entropy,
/// backward and Adam, exactly as <c>Trainer.Step</c> runs it (the batch is already gathered; activations recycled by a TensorArena).
/// </summary>
[MemoryDiagnoser]
public abstract class TrainStepBenchmark(string model, int[] inputShape, float learningRate)
{
    private const int Batch = 60;

    private Module _model = null!;
    private Adam _adam = null!;
    private Tensor _x = null!;
    private int[] _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelZoo.Create(model, inputShape, 10, InitScheme.GlorotNormal, 1);
        _adam = new Adam(_model.Parameters(), learningRate);
        var rng = new Philox(1, 99);
        var x = new float[Batch * inputShape.Aggregate(1, (a, b) => a * b)];
        rng.FillUniform(x, 0f, 1f);
        _x = Tensor.FromArray(x, [Batch, .. inputShape]);
        _y = Enumerable.Range(0, Batch).Select(i => i % 10).ToArray();
    }

    private readonly TensorArena _arena = new();

    [Benchmark]
    public float TrainStep()
    {
        _adam.ZeroGrad();
        float value;
        using (_arena.Enter())
        {
            var loss = Tensor.SoftmaxCrossEntropy(_model.Forward(_x), _y);
            value = loss.Item();
            Gradients.Backward(loss);
        }

        _adam.Step();
        return value;
    }
}
