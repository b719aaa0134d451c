using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>A trainable tensor of a module; its gradient lands in <see cref="Grad"/>.</summary>
public sealed class Parameter
{
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

    /// <summary>Shape of the value.</summary>
    public int[] Shape => Value.Shape;

    /// <summary>Number of elements.</summary>
    public int Size => Value.Size;
}
