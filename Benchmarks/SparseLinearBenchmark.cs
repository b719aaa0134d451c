using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a linear layer y = x·Wᵀ with a masked weight, all threads: the dense path (three SGEMMs:
/// y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x on the masked dense weight) against the sparse path (refresh the CSR values and
/// their transpose from the dense weight, transpose x, SpMM forward, then one pass over the transpose for dx and for dW
/// at the kept positions, transposing dy piece by piece, scattered into the dense gradient), and that sparse path as it
/// runs inside training (<see cref="SparseInTraining"/>, where the gradient stays compressed). The Ratio column is
/// sparse time / dense time; its inverse is the speed-up. Shapes are SparseProp's (Nikdan et al., 2023) 768→3072 at
/// batch 2048 and a 4096×4096 layer at batch 256, and the two larger layers of LeNet-300-100 at batch 60, the
/// lottery-ticket experiments' own model, where a step takes tens of microseconds and thread wake-ups and transposes
/// weigh as much as the products.
/// </summary>
[Config(typeof(Config))]
public class SparseLinearBenchmark
{
    private SparseRows rows = null!;
    private SparseRows transposed = null!;
    private float[] x = null!, dy = null!, weight = null!, y = null!, dx = null!, dw = null!, xT = null!, dwValues = null!;
    private int batch, inputs, outputs;

    /// <summary>The layers measured (<c>SPARSENET_BENCH_LAYERS</c> narrows them).</summary>
    public static IEnumerable<string> Layers => BenchSelection.Layers("768->3072@2048", "4096->4096@256", "784->300@60", "300->100@60");

    /// <summary>The sparsities measured (<c>SPARSENET_BENCH_SPARSITIES</c> narrows them).</summary>
    public static IEnumerable<int> Sparsities => BenchSelection.Sparsities(0, 50, 80, 90, 95, 98, 99);

    /// <summary>The layer, as "in->out@batch".</summary>
    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "768->3072@2048";

    /// <summary>The percentage of weights pruned.</summary>
    [ParamsSource(nameof(Sparsities))]
    public int Sparsity { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Layer.Split(["->", "@"], StringSplitOptions.None);
        (inputs, outputs, batch) = (int.Parse(parts[0]), int.Parse(parts[1]), int.Parse(parts[2]));
        var rng = new Random(1);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        x = Random(batch * inputs);
        dy = Random(batch * outputs);
        var mask = Enumerable.Range(0, outputs * inputs).Select(_ => rng.NextDouble() * 100 < Sparsity ? 0f : 1f).ToArray();

        // The dense path multiplies by the masked weight, zeros included, as a masked layer does without sparse kernels.
        weight = Random(outputs * inputs).Zip(mask, (w, m) => w * m).ToArray();
        y = new float[batch * outputs];
        dx = new float[batch * inputs];
        dw = new float[outputs * inputs];
        rows = SparseRows.FromMask(mask, outputs, inputs);
        rows.LoadValues(weight);
        transposed = rows.Transpose();
        xT = new float[SparseLinear.WorkspaceLength(inputs, batch)];
        dwValues = new float[rows.Count];
    }

    [Benchmark(Baseline = true)]
    public void Dense()
    {
        Sgemm.Multiply(false, true, batch, outputs, inputs, x, inputs, weight, inputs, y, outputs, accumulate: false);
        Sgemm.Multiply(false, false, batch, inputs, outputs, dy, outputs, weight, inputs, dx, inputs, accumulate: false);
        Sgemm.Multiply(true, false, outputs, inputs, batch, dy, outputs, x, inputs, dw, inputs, accumulate: false);
    }

    [Benchmark]
    public void Sparse()
    {
        rows.LoadValues(weight);
        transposed.LoadValuesFrom(rows);
        SparseLinear.Forward(rows, x, batch, xT, y);
        SparseLinear.Backward(rows, transposed, xT, dy, batch, dx, dwValues, dw);
    }

    /// <summary>
    /// The sparse path as training runs it step after step: the optimizer's sparse step has already written the new
    /// kept weights into the CSR values (so no gather from the dense weight), and it reads the weight gradient's kept
    /// values where the backward pass left them, so the dense gradient, which already holds zeros at every pruned
    /// position, is written only if something else reads it (never in a training step). The transpose's values are
    /// refreshed, as every backward pass after an optimizer step does.
    /// </summary>
    [Benchmark]
    public void SparseInTraining()
    {
        transposed.LoadValuesFrom(rows);
        SparseLinear.Forward(rows, x, batch, xT, y);
        SparseLinear.Backward(rows, transposed, xT, dy, batch, dx, dwValues, []);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithMaxParameterColumnWidth(20);
    }
}
