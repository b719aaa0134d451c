using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One Conv-2 training step on CIFAR-shaped input (3×32×32, batch 60, Adam at 2e-4 as in Frankle and
/// Carbin 2019): forward, softmax cross-entropy, backward and the update, the batch already in memory.
/// <c>Benchmarks/reference/conv2_step.py</c> times the same step in PyTorch.
/// </summary>
[MemoryDiagnoser]
public class Conv2StepBenchmark
{
    private Module _model = null!;
    private Adam _adam = null!;
    private Tensor _x = null!;
    private int[] _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelZoo.Create("conv2", [3, 32, 32], 10, InitScheme.GlorotNormal, 1);
        _adam = new Adam(_model.Parameters(), 2e-4f);
        var rng = new Philox(1, 99);
        var x = new float[60 * 3 * 32 * 32];
        rng.FillUniform(x, 0f, 1f);
        _x = Tensor.FromArray(x, 60, 3, 32, 32);
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
