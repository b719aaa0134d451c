using System.Globalization;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Devices.Ilgpu;
using SparseNet.Kernels.Gpu;
using Device = SparseNet.Engine.Devices.Device;

namespace SparseNet.Benchmarks;

/// <summary>
/// The GPU the GPU benchmarks run on: <c>$SPARSENET_GPU</c> (<c>cuda</c>, <c>opencl</c>, or <c>ilgpu-cpu</c> to
/// exercise the benchmarks on ILGPU's CPU accelerator), else the first CUDA GPU, else the first OpenCL device.
/// </summary>
public static class GpuDevice
{
    private static readonly Lazy<Device?> s_device = new(() =>
        Environment.GetEnvironmentVariable("SPARSENET_GPU") is { Length: > 0 } name
            ? AcceleratorDevices.TryGet(name)
            : AcceleratorDevices.TryGet("cuda") ?? AcceleratorDevices.TryGet("opencl"));

    /// <summary>The device, or null when the machine has none.</summary>
    public static Device? Device => s_device.Value;

    /// <summary>The kernels of <see cref="Device"/>.</summary>
    public static GpuKernels Kernels => ((IlgpuBackend)(Device ?? throw new InvalidOperationException(Missing)).Backend).Kernels;

    /// <summary>Why the GPU benchmarks do not run here.</summary>
    public const string Missing = "no GPU: the GPU benchmarks need a CUDA or OpenCL 2.0+ device (or SPARSENET_GPU=ilgpu-cpu for ILGPU's CPU accelerator); skipped";

    /// <summary>
    /// The card's FP32 peak in GFLOP/s from its multiprocessors, clock and FP32 lanes per multiprocessor (64 on
    /// compute capability 7.x and 8.0, 128 from 8.6 on: NVIDIA's CUDA C programming guide, arithmetic instructions
    /// table); NaN where it is not a CUDA device. ILGPU gives the clock in MHz (1,980 on an H200, whose peak is then
    /// 132 × 128 × 2 × 1.98 GHz = 66.9 TFLOP/s, as NVIDIA states for the H100 SXM's FP32).
    /// </summary>
    public static double Fp32PeakGflops(Accelerator accelerator)
    {
        if (accelerator is not CudaAccelerator cuda)
        {
            return double.NaN;
        }

        var arch = cuda.Architecture;
        int lanes = arch.Major < 8 || (arch.Major == 8 && arch.Minor == 0) ? 64 : 128;
        return cuda.NumMultiprocessors * lanes * 2.0 * cuda.ClockRate / 1e3;
    }

    /// <summary>One line naming the device and its peak.</summary>
    public static string Describe()
    {
        if (Device is not { } device)
        {
            return Missing;
        }

        double peak = Fp32PeakGflops(Kernels.Accelerator);
        return double.IsNaN(peak)
            ? device.Description
            : string.Create(CultureInfo.InvariantCulture, $"{device.Description}, {Kernels.Accelerator.NumMultiprocessors} SMs, FP32 peak {peak / 1000:F1} TFLOP/s");
    }
}
