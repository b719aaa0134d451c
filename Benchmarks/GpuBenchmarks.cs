using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.RadixSortOperations;
using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Benchmarks;

/// <summary>Marks the benchmarks that need a GPU, so <see cref="Program"/> skips them, saying why, where there is none.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class NeedsGpuAttribute : Attribute;

/// <summary>Shared setup of the GPU benchmarks: random device buffers, and a synchronise after each launch.</summary>
public abstract class GpuBenchmarkBase
{
    protected static GpuKernels K => GpuDevice.Kernels;

    protected static MemoryBuffer1D<float, Stride1D.Dense> Random(long n, int seed, float scale = 1f)
    {
        var rng = new System.Random(seed);
        var host = new float[n];
        for (long i = 0; i < n; i++)
        {
            host[i] = (float)((rng.NextDouble() * 2) - 1) * scale;
        }

        return K.Accelerator.Allocate1D(host);
    }

    protected static double PeakGflops => GpuDevice.Fp32PeakGflops(K.Accelerator);
}

/// <summary>SGEMM on the GPU at 1024², 2048², 4096², dense and with a 90%-pruned mask on B applied in the kernel.</summary>
[NeedsGpu]
[Config(typeof(Config))]
public class GpuSgemmBenchmark : GpuBenchmarkBase
{
    private MemoryBuffer1D<float, Stride1D.Dense> _a = null!, _b = null!, _c = null!, _mask = null!;

    [Params(1024, 2048, 4096)]
    public int N { get; set; }

    [Params(false, true)]
    public bool Masked { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        long n2 = (long)N * N;
        _a = Random(n2, 1);
        _b = Random(n2, 2);
        _c = K.Accelerator.Allocate1D<float>(n2);
        var rng = new System.Random(3);
        _mask = K.Accelerator.Allocate1D(Enumerable.Range(0, (int)n2).Select(_ => rng.NextDouble() < 0.1 ? 1f : 0f).ToArray());
        Multiply();
    }

    [Benchmark]
    public void Multiply()
    {
        K.Sgemm(false, false, N, N, N, _a.View, N, 0, _b.View, N, 0, _c.View, N, 0, 1, accumulate: false, Masked ? _mask.View : default);
        K.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
        _mask.Dispose();
    }

    private static long Flops(BenchmarkCase c) => 2L * (int)c.Parameters["N"] * (int)c.Parameters["N"] * (int)c.Parameters["N"];

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(false, Flops), new GflopsColumn(true, Flops, () => PeakGflops, "the card's FP32 peak (SMs × FP32 lanes × 2 × clock)"));
    }
}

/// <summary>Convolution layers on the GPU: Conv-2's 64→64 3×3 at 32×32 (batch 60) and ResNet-20's 16→16 3×3 at 32×32 (batch 128).</summary>
[NeedsGpu]
[Config(typeof(Config))]
public class GpuConvBenchmark : GpuBenchmarkBase
{
    private MemoryBuffer1D<float, Stride1D.Dense> _x = null!, _w = null!, _y = null!;

    public static IEnumerable<string> Layers => ["conv2 64-64@32 n60", "resnet20 16-16@32 n128"];

    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "conv2 64-64@32 n60";

    [Params("forward", "input-grad", "weight-grad")]
    public string Pass { get; set; } = "forward";

    private ConvShape Shape => Layer.StartsWith("conv2", StringComparison.Ordinal)
        ? new ConvShape(60, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)
        : new ConvShape(128, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1);

    [GlobalSetup]
    public void Setup()
    {
        var s = Shape;
        _x = Random((long)s.N * s.C * s.H * s.W, 1);
        _w = Random((long)s.O * s.C * s.KH * s.KW, 2, 0.1f);
        _y = Random((long)s.N * s.O * s.OH * s.OW, 3);
        Run();
    }

    [Benchmark]
    public void Run()
    {
        var s = Shape;
        switch (Pass)
        {
            case "forward":
                K.ConvForward(_x.View, _w.View, default, s, _y.View, relu: false);
                break;
            case "input-grad":
                K.ConvInputGrad(_y.View, _w.View, s, _x.View);
                break;
            default:
                K.ConvWeightGrad(_x.View, _y.View, s, _w.View);
                break;
        }

        K.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _w.Dispose();
        _y.Dispose();
    }

    private static long Flops(BenchmarkCase c)
    {
        var s = ((string)c.Parameters["Layer"]).StartsWith("conv2", StringComparison.Ordinal)
            ? new ConvShape(60, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)
            : new ConvShape(128, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1);
        return 2L * s.N * s.O * s.OH * s.OW * s.C * s.KH * s.KW;
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(false, Flops), new GflopsColumn(true, Flops, () => PeakGflops, "the card's FP32 peak (SMs × FP32 lanes × 2 × clock)"));
    }
}

/// <summary>
/// The magnitude-pruning threshold on the GPU: radix select of the k-th smallest of n floats (the data read once per
/// pass) against sorting a copy with ILGPU.Algorithms' radix sort, which is what selecting by sorting costs.
/// </summary>
[NeedsGpu]
public class GpuSelectBenchmark : GpuBenchmarkBase
{
    private MemoryBuffer1D<float, Stride1D.Dense> _values = null!, _copy = null!;
    private MemoryBuffer1D<int, Stride1D.Dense> _temp = null!;
    private RadixSort<float, Stride1D.Dense> _sort = null!;

    [Params(1_000_000, 10_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _values = Random(N, 1);
        _copy = K.Accelerator.Allocate1D<float>(N);
        _sort = K.Accelerator.CreateRadixSort<float, Stride1D.Dense, AscendingFloat>();
        _temp = K.Accelerator.Allocate1D<int>(K.Accelerator.ComputeRadixSortTempStorageSize<float, AscendingFloat>((Index1D)N));
    }

    [Benchmark(Baseline = true)]
    public float RadixSelect() => K.KthSmallest(_values.View, N / 10);

    [Benchmark]
    public float SortThenIndex()
    {
        _values.View.CopyTo(_copy.View);
        _sort(K.Accelerator.DefaultStream, _copy.View, _temp.View);
        float[] one = new float[1];
        _copy.View.SubView(N / 10, 1).CopyToCPU(one);
        return one[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _values.Dispose();
        _copy.Dispose();
        _temp.Dispose();
    }
}
