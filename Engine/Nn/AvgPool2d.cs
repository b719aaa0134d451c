using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>Average pooling as a module; padding counts as zeros in the average (always divided by the window size).</summary>
/// <param name="kernelSize">Square window size.</param>
/// <param name="stride">Step in both directions; negative means the window size.</param>
/// <param name="padding">Padding on every side.</param>
public sealed class AvgPool2d(int kernelSize, int stride = -1, int padding = 0) : Module
{
    /// <summary>Square window size.</summary>
    public int KernelSize { get; } = kernelSize;

    /// <summary>Step in both directions (the window size when constructed with a negative stride).</summary>
    public int Stride { get; } = stride < 0 ? kernelSize : stride;

    /// <summary>Padding on every side.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.AvgPool2d(KernelSize, Stride, Padding);
}
