using ILGPU;
using ILGPU.Runtime;
using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Engine.Devices.Ilgpu;

/// <summary>
/// The backend of an ILGPU accelerator (CUDA, OpenCL, or ILGPU's CPU accelerator for tests): tensors live in the
/// accelerator's memory and every op is a kernel of <see cref="GpuKernels"/>, queued on the accelerator's stream.
/// Host copies happen only where a value must reach the host (a loss, a count, a threshold, a checkpoint) and for the
/// data batches and labels.
/// </summary>
/// <remarks>
/// Buffers made inside an arena scope (a training step, an evaluation batch) come from this backend's pool and go
/// back to it when the scope ends, so a training run allocates device memory in its first steps and then reuses it.
/// Buffers made outside scopes (parameters, optimizer state) are freed by ILGPU's finaliser when they are collected;
/// when an allocation fails for lack of memory the pool is emptied, collected buffers are finalised, and the
/// allocation is tried again.
/// </remarks>
internal sealed partial class IlgpuBackend : IBackend, IStoragePool
{
    private readonly Dictionary<int, Stack<MemoryBuffer1D<float, Stride1D.Dense>>> _free = [];
    private readonly Lock _poolGate = new();
    private MemoryBuffer1D<int, Stride1D.Dense>? _labels;
    private Device? _owner;

    public IlgpuBackend(Accelerator accelerator)
    {
        Kernels = new GpuKernels(accelerator);
    }

    /// <summary>The kernels of the accelerator.</summary>
    public GpuKernels Kernels { get; }

    /// <summary>The device this backend allocates for; set once, right after the device is made with it.</summary>
    public Device Owner
    {
        get => _owner ?? throw new InvalidOperationException("ilgpu backend: the device is not set");
        set => _owner = _owner is null ? value : throw new InvalidOperationException("ilgpu backend: the device is already set");
    }

    private static ArrayView<float> V(Tensor t) => ((IlgpuStorage)t.Storage).View;

    private static ArrayView<float> V(Storage s) => ((IlgpuStorage)s).View;

    private static ArrayView<float> VOrEmpty(Tensor? t) => t is null ? ArrayView<float>.Empty : V(t);

    private static ArrayView<int> I(IndexBuffer b) => ((IlgpuIndexBuffer)b).View;

    // Outside arena scopes too, a pooled buffer of the right length is taken first.
    public Storage Allocate(int length, bool zeroed)
    {
        var storage = (IlgpuStorage)Rent(length);
        if (zeroed && length > 0)
        {
            storage.View.MemSetToZero();
        }

        return storage;
    }

    public Storage Rent(int length)
    {
        lock (_poolGate)
        {
            if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                return new IlgpuStorage(stack.Pop(), length, Owner);
            }
        }

        return new IlgpuStorage(NewBuffer(length), length, Owner);
    }

    public void Return(Storage storage)
    {
        var s = (IlgpuStorage)storage;
        var buffer = s.Release();
        lock (_poolGate)
        {
            if (!_free.TryGetValue(s.Length, out var stack))
            {
                _free[s.Length] = stack = new Stack<MemoryBuffer1D<float, Stride1D.Dense>>();
            }

            stack.Push(buffer);
        }
    }

    // A buffer of at least one element (ILGPU does not allocate empty buffers); on failure the pool is emptied, the
    // collector finalises unreachable buffers, and the allocation is tried once more.
    private MemoryBuffer1D<float, Stride1D.Dense> NewBuffer(int length)
    {
        var accelerator = Kernels.Accelerator;
        try
        {
            return accelerator.Allocate1D<float>(Math.Max(1, length));
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            TrimPool();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return accelerator.Allocate1D<float>(Math.Max(1, length));
        }
    }

    /// <summary>Frees every pooled buffer.</summary>
    public void TrimPool()
    {
        lock (_poolGate)
        {
            foreach (var stack in _free.Values)
            {
                while (stack.Count > 0)
                {
                    stack.Pop().Dispose();
                }
            }

            _free.Clear();
        }
    }

    public Storage FromHost(ReadOnlySpan<float> data)
    {
        var storage = Allocate(data.Length, zeroed: false);
        CopyFromHost(data, storage);
        return storage;
    }

    public void CopyFromHost(ReadOnlySpan<float> source, Storage destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"ilgpu: {source.Length} host values for a storage of {destination.Length}");
        }

        if (source.Length > 0)
        {
            V(destination).CopyFromCPU(source);
        }
    }

    public IndexBuffer AllocateIndices(int length) =>
        new IlgpuIndexBuffer((IlgpuStorage)TensorArena.NewStorage(Owner, length));

    public void ToHost(Storage source, Span<float> destination)
    {
        if (source.Length > 0)
        {
            V(source).CopyToCPU(destination[..source.Length]);
        }
    }

    public void Fill(Storage storage, float value) => Kernels.Fill(V(storage), value);

    public void Copy(Storage source, Storage destination)
    {
        if (source.Length > 0)
        {
            V(source).CopyTo(V(destination));
        }
    }

    // Labels of one batch, uploaded into a buffer kept for the next batch (launches on one stream run in order, so a
    // later upload never overwrites labels an earlier kernel still reads).
    private ArrayView<int> UploadLabels(ReadOnlySpan<int> labels)
    {
        if (_labels is null || _labels.Length < labels.Length)
        {
            _labels?.Dispose();
            _labels = Kernels.Accelerator.Allocate1D<int>(Math.Max(64, labels.Length));
        }

        ArrayView<int> view = _labels.View.SubView(0, labels.Length);
        if (labels.Length > 0)
        {
            view.CopyFromCPU(labels);
        }

        return view;
    }
}
