using BenchmarkDotNet.Attributes;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step (forward, cross-entropy, backward, Adam) of LeNet-300-100 and Conv-2 at batch 60 with every
/// weight pruned to a sparsity at random, on the dense path (<see cref="SparseMode.Off"/>: masked weights through the
/// dense kernels, which costs what the unpruned network costs) and the sparse path (<see cref="SparseMode.On"/>). The
/// speed-up of a ticket is the dense step at sparsity 0 over the sparse step at its sparsity.
/// </summary>
[MemoryDiagnoser]
public class SparseStepBenchmark
{
    private StepRunner _step = null!;

    /// <summary>The network.</summary>
    [Params("lenet_300_100", "conv2")]
    public string Model { get; set; } = "lenet_300_100";

    /// <summary>Percent of each layer's weights pruned.</summary>
    [Params(0, 90, 98)]
    public int Sparsity { get; set; }

    /// <summary>Dense or sparse kernels for the pruned layers.</summary>
    [Params(SparseMode.Off, SparseMode.On)]
    public SparseMode Path { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int[] shape = Model == "conv2" ? [3, 32, 32] : [784];
        var net = ModelZoo.Create(Model, shape, 10, InitScheme.GlorotNormal, 1);
        var rng = new Philox(2, 7);
        if (Sparsity > 0)
        {
            foreach (var (name, p) in net.NamedParameters())
            {
                if (!name.EndsWith("weight", StringComparison.Ordinal) || p.Shape.Length < 2)
                {
                    continue;
                }

                var u = new float[p.Size];
                rng.FillUniform(u, 0f, 1f);
                p.Mask = Tensor.FromArray(u.Select(v => v * 100 < Sparsity ? 0f : 1f).ToArray(), p.Shape);
                p.ApplyMask();
            }
        }

        net.UseSparse(Path);
        var (x, y) = StepRunner.RandomBatch(rng, 60, shape);
        _step = new StepRunner(net, new Adam(net.Parameters(), 1.2e-3f), x, y);
    }

    [Benchmark]
    public float TrainStep() => _step.Run();
}
