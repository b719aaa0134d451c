namespace SparseNet.Engine.Devices;

/// <summary>
/// A flat int32 buffer owned by a device: the indices an op writes for its backward pass (max pooling's argmax) and
/// gather and scatter read. Only its backend reads or writes the elements.
/// </summary>
public abstract class IndexBuffer
{
    /// <summary>Number of int32 elements.</summary>
    public abstract int Length { get; }

    /// <summary>The device that owns this buffer.</summary>
    public abstract Device Device { get; }
}
