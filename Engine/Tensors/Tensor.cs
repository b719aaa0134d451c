using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;

namespace SparseNet.Engine.Tensors;

/// <summary>
/// A float32, row-major, contiguous n-dimensional array on a <see cref="Devices.Device"/>, recording
/// the ops that produced it when gradients are required.
/// </summary>
public sealed partial class Tensor
{
    private bool _requiresGrad;

    internal Tensor(Storage storage, int[] shape)
    {
        int size = Tensors.Shape.Size(shape);
        if (storage.Length != size)
        {
            throw new ArgumentException($"tensor: storage of {storage.Length} elements cannot hold shape {Tensors.Shape.Format(shape)} ({size} elements)");
        }

        Storage = storage;
        Shape = shape;
        Size = size;
    }

    /// <summary>The buffer holding the elements (replaced only when a module moves to another device).</summary>
    public Storage Storage { get; private set; }

    /// <summary>Dimensions (do not modify the array).</summary>
    public int[] Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements.</summary>
    public int Size { get; }

    /// <summary>The device the elements live on.</summary>
    public Device Device => Storage.Device;

    /// <summary>Gradient accumulated by <see cref="Gradients.Backward"/>, if any.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>
    /// A gradient buffer kept from before <c>Grad</c> was cleared, which the next backward pass writes into
    /// instead of allocating a new one.
    /// </summary>
    internal Tensor? SpareGrad { get; set; }

    /// <summary>Op that produced this tensor, when it was recorded for autograd.</summary>
    internal GradNode? Node { get; set; }

    /// <summary>True for tensors not produced by a recorded op (parameters, inputs).</summary>
    public bool IsLeaf => Node is null;

    /// <summary>Whether ops on this tensor are recorded so gradients can flow to it.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf && !value)
            {
                throw new InvalidOperationException("tensor: cannot clear RequiresGrad on a non-leaf tensor; use Detach()");
            }

            _requiresGrad = value;
        }
    }

    /// <summary>Host view of the elements; only for CPU tensors. Taking it counts as a write (see <see cref="Version"/>).</summary>
    public Span<float> Span
    {
        get
        {
            var data = Storage is CpuStorage cpu
                ? cpu.Data
                : throw new InvalidOperationException($"tensor: Span is only available on the CPU, this tensor is on {Device}");
            Version++;
            return data.AsSpan();
        }
    }

    /// <summary>
    /// Counts the writes to this tensor through its public mutators (<see cref="Span"/>, <see cref="Fill"/>,
    /// <see cref="CopyFrom"/>, <see cref="AddInPlace"/>, <see cref="MulInPlace"/>, a move to another device), so a
    /// structure derived from its values (the compressed form of a mask) can tell it is stale: the same tensor with
    /// the same version holds the same values.
    /// </summary>
    internal long Version { get; private set; }

    /// <summary>Records a write made to this tensor by other means (an optimizer step).</summary>
    internal void MarkWritten() => Version++;

    /// <summary>Creates a tensor from host data (copied).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape) => FromArray(data, shape, Device.Cpu);

    /// <summary>Creates a tensor from host data (copied) on a device.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, int[] shape, Device device)
    {
        int size = Tensors.Shape.Size(shape);
        if (data.Length != size)
        {
            throw new ArgumentException($"tensor: {data.Length} values given for shape {Tensors.Shape.Format(shape)} ({size} elements)");
        }

        return new Tensor(device.Backend.FromHost(data), (int[])shape.Clone());
    }

    /// <summary>Wraps a host array without copying; the tensor sees later changes to it.</summary>
    public static Tensor Wrap(float[] data, params int[] shape) => new(new CpuStorage(data), (int[])shape.Clone());

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, Device.Cpu);

    /// <summary>A tensor of zeros on a device.</summary>
    public static Tensor Zeros(int[] shape, Device device) =>
        new(device.Backend.Allocate(Tensors.Shape.Size(shape), zeroed: true), (int[])shape.Clone());

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(float value, int[] shape, Device? device = null)
    {
        device ??= Device.Cpu;
        var t = new Tensor(device.Backend.Allocate(Tensors.Shape.Size(shape), zeroed: false), (int[])shape.Clone());
        device.Backend.Fill(t.Storage, value);
        return t;
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A rank-0 tensor.</summary>
    public static Tensor Scalar(float value, Device? device = null) => Full(value, [], device);

    /// <summary>Allocates an output of the given shape on this tensor's device, contents unspecified.</summary>
    internal Tensor NewEmpty(int[] shape)
    {
        return new(TensorArena.NewStorage(Device, Tensors.Shape.Size(shape)), shape);
    }

    /// <summary>
    /// A batch for one step on <paramref name="device"/>: on the CPU the host array itself, not copied (as
    /// <see cref="Wrap"/>); on another device a copy, taken from the current arena scope when there is one.
    /// </summary>
    public static Tensor ForStep(float[] data, int[] shape, Device device)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(device);
        return device == Device.Cpu ? Wrap(data, shape) : Upload(data, (int[])shape.Clone(), device);
    }

    /// <summary>
    /// A tensor of <paramref name="shape"/> on <paramref name="device"/> holding a copy of host data, taken from the
    /// current arena scope when there is one (a batch uploaded for one step).
    /// </summary>
    internal static Tensor Upload(ReadOnlySpan<float> data, int[] shape, Device device)
    {
        var t = new Tensor(TensorArena.NewStorage(device, data.Length), shape);
        device.Backend.CopyFromHost(data, t.Storage);
        return t;
    }

    /// <summary>
    /// Moves the elements to <paramref name="device"/> in place: this same tensor object then lives there, so every
    /// module and parameter holding it follows. Not for tensors inside a recorded graph.
    /// </summary>
    internal void MoveTo(Device device)
    {
        if (device == Device)
        {
            return;
        }

        if (Node is not null)
        {
            throw new InvalidOperationException("tensor: a tensor produced by a recorded op cannot move to another device; move leaves (parameters, buffers, inputs)");
        }

        float[] host = ToArray();
        Storage = device.Backend.FromHost(host);
        Version++;
        Grad = null;
        SpareGrad = null;
    }

    /// <summary>Copies the elements to a new host array.</summary>
    public float[] ToArray()
    {
        var result = new float[Size];
        Device.Backend.ToHost(Storage, result);
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1)
        {
            throw new InvalidOperationException($"tensor: Item() needs one element, shape is {Tensors.Shape.Format(Shape)}");
        }

        return ToArray()[0];
    }

    /// <summary>A tensor sharing this one's storage but cut off from the graph.</summary>
    public Tensor Detach() => new(Storage, Shape);

    /// <summary>A deep copy, cut off from the graph.</summary>
    public Tensor Clone()
    {
        var t = NewEmpty((int[])Shape.Clone());
        Device.Backend.Copy(Storage, t.Storage);
        return t;
    }

    /// <summary>
    /// Copies another tensor's values into this one in place (shapes must match); not recorded. A source on another
    /// device is copied through host memory.
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireSameShape("copy", this, source);
        Version++;
        if (source.Device != Device)
        {
            Device.Backend.CopyFromHost(source.ToArray(), Storage);
            return;
        }

        Device.Backend.Copy(source.Storage, Storage);
    }

    /// <summary>Sets every element in place; not recorded.</summary>
    public void Fill(float value)
    {
        Version++;
        Device.Backend.Fill(Storage, value);
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor{Tensors.Shape.Format(Shape)} on {Device}";

    /// <summary>Throws when <paramref name="b"/> is on another device than <paramref name="a"/>, naming both.</summary>
    internal static void RequireSameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{op}: operands on different devices ({a.Device} and {b.Device}); move them to one device first (Module.To, Tensor.To)");
        }
    }

    /// <summary>A copy of this tensor on <paramref name="device"/> (this tensor itself when it is there already), cut off from the graph.</summary>
    public Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device == Device ? this : new Tensor(device.Backend.FromHost(ToArray()), (int[])Shape.Clone());
    }

    internal static void RequireSameShape(string op, Tensor a, Tensor b)
    {
        if (!Tensors.Shape.Equal(a.Shape, b.Shape))
        {
            throw new ArgumentException($"{op}: {Tensors.Shape.Format(a.Shape)} and {Tensors.Shape.Format(b.Shape)} differ in shape");
        }
    }

    /// <summary>Records <paramref name="result"/> as produced by an op when grad mode is on and an input needs grad.</summary>
    internal static Tensor Record(Tensor result, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward) =>
        Record(result, op, inputs, (g, _) => backward(g), sink: null);

    /// <summary>Records an op whose gradient for some inputs can be added straight into an existing buffer.</summary>
    internal static Tensor Record(Tensor result, string op, Tensor[] inputs, Func<Tensor, bool[]?, Tensor?[]> backward, Func<Tensor, int, Tensor, bool, bool>? sink)
    {
        if (!GradMode.IsEnabled)
        {
            return result;
        }

        foreach (var input in inputs)
        {
            if (input.RequiresGrad)
            {
                result.Node = new GradNode(op, inputs, backward, sink);
                result._requiresGrad = true;
                return result;
            }
        }

        return result;
    }
}
