namespace SparseNet.Engine.Devices;

/// <summary>
/// Where tensors live and run. Ops reach compute only through <see cref="Backend"/>, so autograd and
/// modules never look at which device a tensor is on.
/// </summary>
public sealed class Device
{
    private Device(string name, IBackend backend)
    {
        Name = name;
        Backend = backend;
    }

    /// <summary>The host CPU, running SIMD kernels.</summary>
    public static Device Cpu { get; } = new("cpu", new CpuBackend());

    /// <summary>Short name, e.g. <c>cpu</c>.</summary>
    public string Name { get; }

    /// <summary>The compute backend of this device.</summary>
    public IBackend Backend { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
