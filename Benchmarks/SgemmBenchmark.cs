using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace SparseNet.Benchmarks;

/// <summary>
/// SGEMM on square shapes and on the products of one LeNet-300-100 training step at batch
/// 60 (forward, weight gradients dW = dYᵀ·X, input gradients dX = dY·W), all threads.
/// </summary>
[Config(typeof(Config))]
public class SgemmBenchmark
{
    private SgemmData data = null!;

    [ParamsSource(nameof(Shapes))]
    public SgemmShape Shape { get; set; } = SgemmShape.All[0];

    public static IEnumerable<SgemmShape> Shapes => SgemmShape.All;

    [GlobalSetup]
    public void Setup() => data = new SgemmData(Shape);

    [Benchmark]
    public void Multiply() => data.Run();

    private static long Flops(BenchmarkCase c) => ((SgemmShape)c.Parameters["Shape"]).Flops;

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new GflopsColumn(false, Flops), new GflopsColumn(true, Flops));

            // Case names are longer than the default 20-character parameter column.
            SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithMaxParameterColumnWidth(40);
        }
    }
}
