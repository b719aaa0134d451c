using System.Buffers;

namespace SparseNet.Engine.Devices;

/// <summary>A temporary float buffer rented from the shared pool for the length of one kernel call.</summary>
internal ref struct ScratchBuffer
{
    private float[]? _rented;

    public ScratchBuffer(int length)
    {
        _rented = ArrayPool<float>.Shared.Rent(length);
        Span = _rented.AsSpan(0, length);
    }

    /// <summary>Exactly the requested number of floats; contents unspecified.</summary>
    public Span<float> Span { get; }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<float>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
