using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>Average pooling as a module.</summary>
public sealed class AvgPool2d(int kernelSize, int stride = -1, int padding = 0) : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.AvgPool2d(kernelSize, stride, padding);
}
