using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The accelerators every GPU kernel test runs on: ILGPU's CPU accelerator always (16×16 groups allowed), and each
/// CUDA device present. Kernel sets are created once per accelerator and shared, so each kernel compiles once per run.
/// </summary>
internal static class TestAccelerators
{
    private static readonly Lazy<(Context Context, List<(string Name, GpuKernels Kernels)> Sets)> s_all = new(Create);

    /// <summary>Names of the accelerators present, for <c>TestCaseSource</c>.</summary>
    public static IEnumerable<string> Names => s_all.Value.Sets.Select(s => s.Name);

    /// <summary>The kernel set of the accelerator named <paramref name="name"/>.</summary>
    public static GpuKernels Get(string name) => s_all.Value.Sets.First(s => s.Name == name).Kernels;

    /// <summary>The shared ILGPU context.</summary>
    public static Context Context => s_all.Value.Context;

    private static (Context, List<(string, GpuKernels)>) Create()
    {
        // Algorithms are enabled for radix sort and scans; O1 keeps kernel compilation quick on the CPU accelerator.
        var context = Context.Create(b => b.CPU(new CPUDevice(16, 16, 1)).Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O1));
        var sets = new List<(string, GpuKernels)> { ("cpu-accelerator", new GpuKernels(context.CreateCPUAccelerator(0))) };
        var cuda = context.GetCudaDevices();
        for (int i = 0; i < cuda.Count; i++)
        {
            sets.Add(($"cuda-{i}", new GpuKernels(cuda[i].CreateAccelerator(context))));
        }

        return (context, sets);
    }
}
