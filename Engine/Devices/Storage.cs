namespace SparseNet.Engine.Devices;

/// <summary>A flat float32 buffer owned by a device. Tensors view a storage through a shape.</summary>
public abstract class Storage
{
    /// <summary>Number of float32 elements.</summary>
    public abstract int Length { get; }

    /// <summary>The device that owns this buffer.</summary>
    public abstract Device Device { get; }

    /// <summary>The arena this buffer returns to when its scope ends, if any.</summary>
    internal TensorArena? Arena { get; set; }
}
