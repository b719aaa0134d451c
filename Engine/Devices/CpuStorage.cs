namespace SparseNet.Engine.Devices;

/// <summary>Host memory storage: a managed float array.</summary>
public sealed class CpuStorage : Storage
{
    /// <summary>Wraps an existing array (no copy).</summary>
    public CpuStorage(float[] data) => Data = data;

    /// <summary>The elements.</summary>
    public float[] Data { get; }

    /// <inheritdoc />
    public override int Length => Data.Length;

    /// <inheritdoc />
    public override Device Device => Device.Cpu;
}
