using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// The three products of a convolution layer (forward, input gradient, weight gradient) for every layer shape of
/// Conv-2/4/6, VGG-16 and ResNet-20 at their batch sizes, all threads, in GFLOP/s and % of the FMA peak.
/// </summary>
/// <remarks>
/// GFLOP/s counts the direct convolution's 2·N·O·C·KH·KW·OH·OW FLOPs per product, so layers that run as Winograd
/// F(2×2, 3×3) (16 multiply-adds per 2×2 outputs and channel instead of 36) read as their effective rate and can pass
/// 100 % of the FMA peak. <c>SPARSENET_WINOGRAD=0</c> measures the direct products instead.
/// </remarks>
[Config(typeof(Config))]
public class ConvBenchmark
{
    private float[] _x = null!, _w = null!, _y = null!, _dy = null!, _dx = null!, _dw = null!;

    [ParamsSource(nameof(Cases))]
    public ConvCase Layer { get; set; } = ConvCase.All[0];

    /// <summary>
    /// Every layer, or those whose name contains the value of <c>SPARSENET_BENCH_LAYERS</c> (e.g. <c>vgg16</c>), for
    /// measuring one network's layers alone.
    /// </summary>
    public static IEnumerable<ConvCase> Cases =>
        Environment.GetEnvironmentVariable("SPARSENET_BENCH_LAYERS") is { Length: > 0 } only
            ? ConvCase.All.Where(c => c.Name.Contains(only, StringComparison.Ordinal))
            : ConvCase.All;

    [GlobalSetup]
    public void Setup()
    {
        var s = Layer.Shape;
        var rng = new Random(1);
        float[] Fill(long n) => Enumerable.Range(0, checked((int)n)).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _x = Fill((long)s.N * s.C * s.H * s.W);
        _w = Fill((long)s.O * s.Taps);
        _dy = Fill((long)s.N * s.O * s.Positions);
        _y = new float[_dy.Length];
        _dx = new float[_x.Length];
        _dw = new float[_w.Length];
    }

    [Benchmark]
    public void Forward() => Convolution.Forward(_x, _w, Layer.Shape, _y);

    [Benchmark]
    public void InputGrad() => Convolution.InputGrad(_dy, _w, Layer.Shape, _dx);

    [Benchmark]
    public void WeightGrad() => Convolution.WeightGrad(_x, _dy, Layer.Shape, _dw);

    private static long Flops(BenchmarkCase c) => ((ConvCase)c.Parameters["Layer"]).Flops;

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new GflopsColumn(false, Flops), new GflopsColumn(true, Flops));
            SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithMaxParameterColumnWidth(40);
            Orderer = new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared);
        }
    }
}
