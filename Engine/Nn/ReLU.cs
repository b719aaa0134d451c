using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>max(x, 0) as a module.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Relu();
}
