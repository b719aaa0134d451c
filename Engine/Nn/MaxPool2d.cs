using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>Max pooling as a module.</summary>
public sealed class MaxPool2d(int kernelSize, int stride = -1, int padding = 0) : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.MaxPool2d(kernelSize, stride, padding);
}
