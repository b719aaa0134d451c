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
        _data = data;
        _length = data.Length;
        _device = device;
    }

    private readonly int _length;
    private float[]? _data;
    private Action<float[]>? _deferred;

    /// <summary>The elements, with a deferred write (<see cref="Defer"/>) made first.</summary>
    /// <exception cref="InvalidOperationException">The buffer was recycled by the <see cref="TensorArena"/> scope that made it.</exception>
    internal float[] Data
    {
        get
        {
            var data = _data ?? throw new InvalidOperationException(
                "tensor storage was recycled when the training step (tensor arena scope) that created it ended; read or Clone() what you keep inside the step");
            if (_deferred is { } write)
            {
                _deferred = null;
                write(data);
            }

            return data;
        }
    }

    /// <summary>Whether a write is deferred (<see cref="Defer"/>) and not yet made.</summary>
    internal bool HasDeferredWrite => _deferred is not null;

    /// <summary>
    /// Defers a write into the elements until they are next reached through <see cref="Data"/>, by any tensor viewing
    /// this storage: the compressed weight gradient leaves its kept values to be written into the dense gradient only
    /// if something other than the optimizer's sparse step reads that gradient. Replaces a write deferred before.
    /// </summary>
    /// <param name="write">Writes into the elements.</param>
    internal void Defer(Action<float[]> write) => _deferred = write;

    /// <inheritdoc />
    public override int Length => _length;

    /// <summary>Hands the buffer back to the arena; every later access to this storage throws.</summary>
    internal float[] Recycle()
    {
        // Nobody will read what a deferred write would have written.
        _deferred = null;
        float[] data = Data;
        _data = null;
        Arena = null;
        return data;
    }

    /// <inheritdoc />
    public override Device Device => _device;
}
