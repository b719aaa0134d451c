using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace SparseNet.Engine.Devices;

/// <summary>
/// The GPU devices: ILGPU accelerators wrapped as <see cref="Device"/>s. Each is created on first request and
/// registered under its name, so later requests (and <see cref="Device.Get"/>) return the same device.
/// </summary>
/// <remarks>
/// Names: <c>cuda</c> (the first NVIDIA GPU), <c>opencl</c> (the first OpenCL 2.0+ device ILGPU supports) and
/// <c>ilgpu-cpu</c> (ILGPU's CPU accelerator: the GPU kernels run on host threads; slow, for tests and for checking the
/// GPU code path on machines without a GPU).
/// </remarks>
public static class AcceleratorDevices
{
    /// <summary>The values <see cref="Resolve"/> accepts.</summary>
    public static IReadOnlyList<string> Choices { get; } = ["cpu", "cuda", "opencl", "auto", "ilgpu-cpu"];

    private static readonly Lock s_gate = new();
    private static Context? s_context;

    /// <summary>
    /// The device for a <c>--device</c> value: <c>cpu</c>, <c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>, or <c>auto</c>
    /// (CUDA if present, else OpenCL, else the CPU).
    /// </summary>
    /// <exception cref="DeviceUnavailableException">The machine has no such device, or the name is unknown.</exception>
    public static Device Resolve(string choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        return choice switch
        {
            "cpu" => Device.Cpu,
            "auto" => TryGet("cuda") ?? TryGet("opencl") ?? Device.Cpu,
            "cuda" or "opencl" or "ilgpu-cpu" => TryGet(choice) ?? throw new DeviceUnavailableException(
                $"device '{choice}': no {(choice == "cuda" ? "CUDA GPU" : "OpenCL 2.0+ device")} found on this machine; use --device cpu or auto"),
            _ => throw new DeviceUnavailableException($"device '{choice}' is not known; choose one of {string.Join(", ", Choices)}"),
        };
    }

    /// <summary>The device of that name (<c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>), or null when the machine has none.</summary>
    public static Device? TryGet(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (s_gate)
        {
            if (Device.Registered.FirstOrDefault(d => d.Name == name) is { } known)
            {
                return known;
            }

            var context = ContextLocked;
            Accelerator? accelerator = name switch
            {
                "cuda" => context.GetCudaDevices().Count > 0 ? context.GetCudaDevice(0).CreateAccelerator(context) : null,
                "opencl" => context.GetCLDevices().Count > 0 ? context.GetCLDevice(0).CreateAccelerator(context) : null,
                "ilgpu-cpu" => context.CreateCPUAccelerator(0),
                _ => null,
            };
            if (accelerator is null)
            {
                return null;
            }

            var backend = new Ilgpu.IlgpuBackend(accelerator);
            var device = new Device(name, backend, $"{name}: {accelerator.Name}");
            backend.Owner = device;
            Device.Register(device);
            return device;
        }
    }

    /// <summary>The process's ILGPU context, which the devices' accelerators belong to (the PTX check compiles in it too).</summary>
    internal static Context Context
    {
        get
        {
            lock (s_gate)
            {
                return ContextLocked;
            }
        }
    }

    private static Context ContextLocked => s_context ??= CreateContext();

    // One context for the process. The CPU accelerator gets 16×16 groups, as the tiled kernels use; algorithms are
    // enabled for the library's scans and sorts.
    private static Context CreateContext() =>
        Context.Create(b => b.CPU(new CPUDevice(16, 16, 1)).Cuda().OpenCL().EnableAlgorithms().Optimize(OptimizationLevel.O1));
}
