using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>tanh as a module (smooth everywhere, so second derivatives are meaningful).</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Tanh();
}
