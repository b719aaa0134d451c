using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>[N, ...] → [N, prod(...)] as a module.</summary>
public sealed class Flatten : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Flatten();
}
