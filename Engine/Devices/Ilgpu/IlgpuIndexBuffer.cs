using ILGPU;

namespace SparseNet.Engine.Devices.Ilgpu;

/// <summary>
/// Indices in an accelerator's memory, kept in a float storage reinterpreted as int32, so index buffers made inside a
/// training step are pooled and recycled with the step's tensors.
/// </summary>
internal sealed class IlgpuIndexBuffer(IlgpuStorage storage) : IndexBuffer
{
    /// <summary>The elements.</summary>
    public ArrayView<int> View => storage.View.Cast<int>();

    /// <inheritdoc />
    public override int Length => storage.Length;

    /// <inheritdoc />
    public override Device Device => storage.Device;
}
