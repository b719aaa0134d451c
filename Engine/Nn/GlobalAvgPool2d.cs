using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>Mean over H and W as a module: [N,C,H,W] → [N,C].</summary>
public sealed class GlobalAvgPool2d : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.GlobalAvgPool2d();
}
