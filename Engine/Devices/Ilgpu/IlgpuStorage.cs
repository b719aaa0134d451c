using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Engine.Devices.Ilgpu;

/// <summary>A float32 buffer in an ILGPU accelerator's memory.</summary>
internal sealed class IlgpuStorage : Storage
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;

    /// <summary>Wraps a buffer of at least <paramref name="length"/> elements (the first <paramref name="length"/> are used).</summary>
    public IlgpuStorage(MemoryBuffer1D<float, Stride1D.Dense> buffer, int length, Device device)
    {
        _buffer = buffer;
        Length = length;
        Device = device;
    }

    /// <inheritdoc />
    public override int Length { get; }

    /// <inheritdoc />
    public override Device Device { get; }

    /// <summary>The elements.</summary>
    /// <exception cref="InvalidOperationException">The buffer went back to the pool when the arena scope that made it ended.</exception>
    public ArrayView<float> View => (_buffer ?? throw new InvalidOperationException(
        "tensor storage was recycled when the training step (tensor arena scope) that created it ended; read or Clone() what you keep inside the step"))
        .View.SubView(0, Length);

    /// <summary>Hands the buffer back (to the pool); every later access to this storage throws.</summary>
    public MemoryBuffer1D<float, Stride1D.Dense> Release()
    {
        var buffer = _buffer ?? throw new InvalidOperationException("ilgpu storage: released twice");
        _buffer = null;
        return buffer;
    }
}
