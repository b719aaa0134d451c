using ILGPU;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Devices.Ilgpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The accelerators every GPU kernel test runs on: ILGPU's CPU accelerator always (16×16 groups allowed), and the CUDA
/// and OpenCL devices present. They are the engine's own devices (<see cref="AcceleratorDevices"/>), so each kernel
/// compiles once per test run, whether a kernel test or a device test launches it first.
/// </summary>
internal static class TestAccelerators
{
    private static readonly Lazy<List<(string Name, GpuKernels Kernels)>> s_all = new(() =>
        new[] { "ilgpu-cpu", "cuda", "opencl" }
            .Select(AcceleratorDevices.TryGet)
            .OfType<Device>()
            .Select(d => (d.Name, ((IlgpuBackend)d.Backend).Kernels))
            .ToList());

    /// <summary>Names of the accelerators present, for <c>TestCaseSource</c>.</summary>
    public static IEnumerable<string> Names => s_all.Value.Select(s => s.Name);

    /// <summary>The kernel set of the accelerator named <paramref name="name"/>.</summary>
    public static GpuKernels Get(string name) => s_all.Value.First(s => s.Name == name).Kernels;

    /// <summary>The shared ILGPU context.</summary>
    public static Context Context => AcceleratorDevices.Context;
}
