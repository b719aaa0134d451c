using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a pruned stride-1 3×3 convolution, all threads: the dense path (forward, input gradient and
/// weight gradient of <see cref="Convolution"/> on the masked dense weight, zeros included) against the sparse path
/// (refresh the CSR values and their transpose from the dense weight, then the three <see cref="SparseConvolution"/>
/// kernels, the weight gradient scattered into the dense gradient). The Ratio column is sparse time / dense time; its
/// inverse is the speed-up. Layers: Conv-2's 64→64 at 32×32, batch 60, and ResNet-20's three stride-1 3×3 layers at
/// batch 128 (<see cref="ConvCase.All"/>).
/// </summary>
[Config(typeof(Config))]
public class SparseConvBenchmark
{
    private SparseRows rows = null!;
    private SparseRows transposed = null!;
    private float[] x = null!, dy = null!, weight = null!, y = null!, dx = null!, dw = null!, dwValues = null!;
    private ConvShape shape;

    /// <summary>The layers measured (<c>SPARSENET_BENCH_LAYERS</c> narrows them).</summary>
    public static IEnumerable<string> Layers => BenchSelection.Layers("conv2/4/6 64→64 @32 b60", "resnet20 16→16 @32 b128", "resnet20 32→32 @16 b128", "resnet20 64→64 @8 b128");

    /// <summary>The sparsities measured (<c>SPARSENET_BENCH_SPARSITIES</c> narrows them).</summary>
    public static IEnumerable<int> Sparsities => BenchSelection.Sparsities(90, 95, 98);

    /// <summary>The layer, by its name in <see cref="ConvCase.All"/>.</summary>
    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "conv2/4/6 64→64 @32 b60";

    /// <summary>The percentage of weights pruned.</summary>
    [ParamsSource(nameof(Sparsities))]
    public int Sparsity { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        shape = ConvCase.All.Single(c => c.Name == Layer).Shape;
        var s = shape;
        var rng = new Random(1);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        x = Random(s.N * s.C * s.H * s.W);
        dy = Random(s.N * s.O * s.Positions);
        var mask = Enumerable.Range(0, s.O * s.Taps).Select(_ => rng.NextDouble() * 100 < Sparsity ? 0f : 1f).ToArray();
        weight = Random(s.O * s.Taps).Zip(mask, (w, m) => w * m).ToArray();
        y = new float[s.N * s.O * s.Positions];
        dx = new float[s.N * s.C * s.H * s.W];
        dw = new float[s.O * s.Taps];
        rows = SparseRows.FromMask(mask, s.O, s.Taps);
        transposed = rows.Transpose();
        dwValues = new float[rows.Count];
    }

    [Benchmark(Baseline = true)]
    public void Dense()
    {
        Convolution.Forward(x, weight, shape, y);
        Convolution.InputGrad(dy, weight, shape, dx);
        Convolution.WeightGrad(x, dy, shape, dw);
    }

    [Benchmark]
    public void Sparse()
    {
        rows.LoadValues(weight);
        transposed.LoadValuesFrom(rows);
        SparseConvolution.Forward(rows, x, [], shape, y);
        SparseConvolution.InputGrad(transposed, dy, shape, dx);
        SparseConvolution.WeightGrad(rows, x, dy, shape, dwValues, dw);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithMaxParameterColumnWidth(30);
    }
}
