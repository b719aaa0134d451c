namespace SparseNet.Engine.Devices;

/// <summary>
/// Recycles the large host buffers of one training step's intermediate tensors (activations, their gradients and the
/// ops' temporaries) instead of leaving them to the garbage collector. Fresh large arrays cost more than the work done
/// on them: the runtime hands them out as untouched pages, and a pass over a 16 MB activation then spends most of its
/// time in page faults. Inside <see cref="Enter"/>, every op output of at least <see cref="MinimumLength"/> floats on
/// the CPU is taken from the arena; when the scope ends they all go back to it, and the next step's ops reuse them.
/// </summary>
/// <remarks>
/// <para>A tensor created inside the scope must not be used after it: its storage is recycled, and any access throws
/// <see cref="InvalidOperationException"/> (never stale or foreign values). Read what you keep (a loss value, a copy
/// made with <c>Clone</c> outside the scope) before the scope ends. Gradients written to leaves (parameters) are kept:
/// they live on until the optimizer has used them. Tensors made by the public factories (<c>Zeros</c>,
/// <c>FromArray</c>, ...) never come from the arena.</para>
/// <para>An arena belongs to the thread that enters it; scopes do not nest. Buffers not reused by the next step are
/// dropped, so a change of batch size does not leave old buffers behind.</para>
/// </remarks>
public sealed class TensorArena
{
    /// <summary>Smaller outputs are left to the allocator, whose short-lived small arrays are already cheap.</summary>
    public const int MinimumLength = 1 << 14;

    [ThreadStatic]
    private static TensorArena? current;

    private readonly List<CpuStorage> _handedOut = [];
    private readonly List<Storage> _handedOutByPools = [];
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private bool _active;

    /// <summary>The arena whose scope the calling thread is in, if any.</summary>
    internal static TensorArena? Current => current;

    /// <summary>Buffers handed out in the current or last scope.</summary>
    public int HandedOut => _handedOut.Count + _handedOutByPools.Count;

    /// <summary>How many of those were recycled from an earlier scope rather than newly allocated.</summary>
    public int Reused { get; private set; }

    /// <summary>Starts a scope on the calling thread; disposing it recycles every buffer handed out inside.</summary>
    /// <exception cref="InvalidOperationException">The thread is already inside an arena scope.</exception>
    public Scope Enter()
    {
        if (current is not null)
        {
            throw new InvalidOperationException("tensor arena: scopes do not nest; this thread is already inside one");
        }

        _active = true;
        Reused = 0;
        _handedOut.Clear();
        _handedOutByPools.Clear();
        current = this;
        return new Scope(this);
    }

    /// <summary>
    /// Whether an output of <paramref name="length"/> floats on <paramref name="device"/> comes from the arena: large
    /// host buffers, and every buffer of a device whose backend pools its memory.
    /// </summary>
    internal static bool Rents(Device device, int length) =>
        device == Device.Cpu ? length >= MinimumLength : device.Backend is IStoragePool;

    /// <summary>
    /// A buffer for an op output of <paramref name="length"/> floats on <paramref name="device"/>, contents unspecified:
    /// from the calling thread's arena when it is in a scope and the arena <see cref="Rents"/> such a buffer, else newly
    /// allocated.
    /// </summary>
    internal static Storage NewStorage(Device device, int length) =>
        current is { } arena && Rents(device, length) ? arena.Rent(device, length) : device.Backend.Allocate(length, zeroed: false);

    /// <summary>A buffer of exactly <paramref name="length"/> floats on <paramref name="device"/> (see <see cref="Rents"/>).</summary>
    internal Storage Rent(Device device, int length)
    {
        if (device == Device.Cpu)
        {
            return Rent(length);
        }

        var storage = ((IStoragePool)device.Backend).Rent(length);
        storage.Arena = this;
        _handedOutByPools.Add(storage);
        return storage;
    }

    /// <summary>A host buffer of exactly <paramref name="length"/> floats for an op output, contents unspecified.</summary>
    internal CpuStorage Rent(int length)
    {
        float[] data;
        if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            data = stack.Pop();
            Reused++;
        }
        else
        {
            data = GC.AllocateUninitializedArray<float>(length);
        }

        var storage = new CpuStorage(data) { Arena = this };
        _handedOut.Add(storage);
        return storage;
    }

    /// <summary>Takes a buffer out of the arena for good (a leaf's gradient): the scope's end leaves it alone.</summary>
    internal static void Keep(Storage storage)
    {
        if (storage.Arena is not null)
        {
            storage.Arena = null;
        }
    }

    private void Exit()
    {
        current = null;
        _active = false;

        // Buffers this scope did not reuse are dropped; the ones it handed out wait for the next scope.
        _free.Clear();
        foreach (var storage in _handedOut)
        {
            if (storage.Arena == this)
            {
                float[] data = storage.Recycle();
                if (!_free.TryGetValue(data.Length, out var stack))
                {
                    _free[data.Length] = stack = new Stack<float[]>();
                }

                stack.Push(data);
            }
        }

        // Pooled device buffers go back to their backend's pool, which keeps them for the next scope.
        foreach (var storage in _handedOutByPools)
        {
            if (storage.Arena == this)
            {
                storage.Arena = null;
                ((IStoragePool)storage.Device.Backend).Return(storage);
            }
        }

        _handedOutByPools.Clear();
    }

    /// <summary>
    /// Leaves the calling thread's arena scope, if any, until the result is disposed: work done meanwhile (a measurement
    /// with an arena of its own) neither rents from it nor nests in it.
    /// </summary>
    internal static Suspension Suspend()
    {
        var outer = current;
        current = null;
        return new Suspension(outer);
    }

    /// <summary>The extent of one <see cref="Suspend"/>; disposing it restores the scope that was left.</summary>
    internal readonly struct Suspension(TensorArena? outer) : IDisposable
    {
        public void Dispose() => current = outer;
    }

    /// <summary>The extent of one <see cref="Enter"/>; dispose it to recycle the scope's buffers.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly TensorArena? _arena;

        internal Scope(TensorArena arena) => _arena = arena;

        /// <inheritdoc />
        public void Dispose()
        {
            if (_arena is { _active: true })
            {
                _arena.Exit();
            }
        }
    }
}
