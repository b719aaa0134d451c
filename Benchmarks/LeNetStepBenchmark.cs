using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One LeNet-300-100 training step at batch 60: forward, softmax cross-entropy, backward and Adam,
/// exactly as <c>Trainer.Step</c> runs it (the batch is already gathered).
/// </summary>
[MemoryDiagnoser]
public class LeNetStepBenchmark
{
    private Module _model = null!;
    private Adam _adam = null!;
    private Tensor _x = null!;
    private int[] _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.GlorotNormal, 1);
        _adam = new Adam(_model.Parameters(), 1.2e-3f);
        var rng = new Philox(1, 99);
        var x = new float[60 * 784];
        rng.FillUniform(x, 0f, 1f);
        _x = Tensor.FromArray(x, 60, 784);
        _y = Enumerable.Range(0, 60).Select(i => i % 10).ToArray();
    }

    [Benchmark]
    public float TrainStep()
    {
        _adam.ZeroGrad();
        var loss = Tensor.SoftmaxCrossEntropy(_model.Forward(_x), _y);
        Gradients.Backward(loss);
        _adam.Step();
        return loss.Item();
    }
}
