using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>A trainable tensor of a module; its gradient lands in <see cref="Grad"/>.</summary>
public sealed class Parameter
{
    private Tensor? _mask;

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

    /// <summary>Shape of the value.</summary>
    public int[] Shape => Value.Shape;

    /// <summary>Number of elements.</summary>
    public int Size => Value.Size;
}
