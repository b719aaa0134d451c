using SparseNet.Engine.Devices;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>A trainable tensor of a module; its gradient lands in <see cref="Grad"/>.</summary>
public sealed class Parameter
{
    private Tensor? _mask;

    // The compressed form of the mask, with the mask tensor and its version it was made from and the version of the
    // values last loaded into it: a mask replaced or written in place, or a weight changed, is seen here.
    private SparseMatrix? _compressed;
    private Tensor? _compressedMask;
    private long _compressedMaskVersion;
    private long _loadedValueVersion = -1;

    /// <summary>Wraps a tensor as a parameter (it starts requiring grad).</summary>
    public Parameter(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
        Value.RequiresGrad = true;
    }

    /// <summary>The current values (a leaf tensor).</summary>
    public Tensor Value { get; }

    /// <summary>The accumulated gradient, or null before the first backward pass.</summary>
    public Tensor? Grad
    {
        get => Value.Grad;
        set => Value.Grad = value;
    }

    /// <summary>
    /// Sets <see cref="Grad"/> to null, keeping its buffer for the next backward pass to write into unless
    /// <paramref name="releaseBuffer"/>.
    /// </summary>
    public void ClearGrad(bool releaseBuffer = false)
    {
        Value.SpareGrad = releaseBuffer ? null : Value.Grad ?? Value.SpareGrad;
        Value.Grad = null;
    }

    /// <summary>
    /// Pruning mask (1 keeps a weight, 0 prunes it), or null for a dense parameter. Optimizers zero the
    /// gradient where the mask is 0, so a pruned weight that starts at zero stays exactly zero, and so do
    /// its optimizer moments; <see cref="ApplyMask"/> zeroes the pruned weights themselves.
    /// </summary>
    public Tensor? Mask
    {
        get => _mask;
        set
        {
            if (value is not null && !Tensors.Shape.Equal(value.Shape, Value.Shape))
            {
                throw new ArgumentException($"parameter: mask {Tensors.Shape.Format(value.Shape)} does not match the parameter {Tensors.Shape.Format(Value.Shape)}");
            }

            _mask = value;
        }
    }

    /// <summary>Sets pruned weights to zero (no-op without a mask); not recorded.</summary>
    public void ApplyMask()
    {
        if (_mask is not null)
        {
            Value.MulInPlace(_mask);
        }
    }

    /// <summary>
    /// The mask in its device's compressed form (rows = the first dimension), or null without a mask or on a backend
    /// without sparse primitives. Made again only when the mask is replaced, written or moved; with
    /// <paramref name="loadValues"/>, the kept values are loaded from <see cref="Value"/> when it has changed since
    /// the last load.
    /// </summary>
    internal SparseMatrix? Compressed(bool loadValues)
    {
        var mask = _mask;
        if (mask is null || Value.Rank < 1 || !Value.Device.Backend.SupportsSparse || mask.Device != Value.Device)
        {
            return null;
        }

        if (_compressed is null || !ReferenceEquals(_compressedMask, mask) || _compressedMaskVersion != mask.Version || _compressed.Device != mask.Device)
        {
            int rows = Value.Shape[0];
            _compressed = Value.Device.Backend.CompressRows(mask, rows, rows == 0 ? 0 : Value.Size / rows);
            _compressedMask = mask;
            _compressedMaskVersion = mask.Version;
            _loadedValueVersion = -1;
        }

        if (loadValues && _loadedValueVersion != Value.Version)
        {
            Value.Device.Backend.LoadSparseValues(_compressed, Value);
            _loadedValueVersion = Value.Version;
        }

        return _compressed;
    }

    /// <summary>
    /// Records that <paramref name="compressed"/>, this parameter's compressed form, holds the current values of
    /// <see cref="Value"/> (an optimizer step wrote both), so the next pass loads nothing.
    /// </summary>
    internal void CompressedValuesWritten(SparseMatrix compressed)
    {
        if (ReferenceEquals(compressed, _compressed))
        {
            _loadedValueVersion = Value.Version;
        }
    }

    /// <summary>
    /// Whether an optimizer may update only the kept positions of this parameter when its mask is sparse enough (see
    /// <see cref="Optim.Optimizer"/>); false under <see cref="SparseMode.Off"/>, which keeps everything dense.
    /// </summary>
    internal bool SparseSteps { get; set; } = true;

    /// <summary>Shape of the value.</summary>
    public int[] Shape => Value.Shape;

    /// <summary>Number of elements.</summary>
    public int Size => Value.Size;
}
