namespace SparseNet.Engine.Devices;

/// <summary>Host memory index buffer: a managed int array.</summary>
internal sealed class CpuIndexBuffer(int[] data, Device device) : IndexBuffer
{
    /// <summary>The elements.</summary>
    public int[] Data { get; } = data;

    /// <inheritdoc />
    public override int Length => Data.Length;

    /// <inheritdoc />
    public override Device Device { get; } = device;
}
