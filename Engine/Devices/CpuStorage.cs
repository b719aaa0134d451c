namespace SparseNet.Engine.Devices;

/// <summary>Host memory storage: a managed float array.</summary>
/// <remarks>
/// The array is reached through <see cref="Tensors.Tensor.Span"/> and the CPU backend, never directly, so
/// the engine stays free to change how host memory is held.
/// </remarks>
public sealed class CpuStorage : Storage
{
    private readonly Device _device;

    /// <summary>Wraps an existing array (no copy) on the CPU device.</summary>
    internal CpuStorage(float[] data)
        : this(data, Device.Cpu)
    {
    }

    // A device other than Cpu can keep its elements in host memory and reuse the CPU kernels for some ops.
    internal CpuStorage(float[] data, Device device)
    {
        Data = data;
        _device = device;
    }

    /// <summary>The elements.</summary>
    internal float[] Data { get; }

    /// <inheritdoc />
    public override int Length => Data.Length;

    /// <inheritdoc />
    public override Device Device => _device;
}
