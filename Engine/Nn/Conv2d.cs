using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>2-D convolution layer, weight [out, in, k, k], input [N, in, H, W].</summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates a layer with zero weights; an <see cref="Initializer"/> fills them.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0)
        {
            throw new ArgumentException($"conv2d: in {inChannels}, out {outChannels}, kernel {kernelSize}, stride {stride} must be positive and padding {padding} non-negative");
        }

        Stride = stride;
        Padding = padding;
        Weight = RegisterParameter("weight", new Parameter(Tensor.Zeros(outChannels, inChannels, kernelSize, kernelSize)));
        Bias = bias ? RegisterParameter("bias", new Parameter(Tensor.Zeros(outChannels))) : null;
    }

    /// <summary>Stride in both directions.</summary>
    public int Stride { get; }

    /// <summary>Zero padding on every side.</summary>
    public int Padding { get; }

    /// <summary>Weights [out, in, k, k].</summary>
    public Parameter Weight { get; }

    /// <summary>Bias [out], if any.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Run(input, relu: false);

    /// <summary>
    /// <see cref="Forward"/> followed by ReLU, in one pass: the same values and gradients, bit for bit, with one pass
    /// fewer over the output. <see cref="Sequential"/> uses it for a convolution followed by a <see cref="ReLU"/>.
    /// </summary>
    /// <param name="input">[N, C, H, W].</param>
    public Tensor ForwardRelu(Tensor input) => Run(input, relu: true);

    /// <summary>Whether the last forward pass ran on the compressed form of the weight's mask (the sparse path).</summary>
    public bool LastRunSparse { get; private set; }

    // A pruned weight runs on the compressed form of its mask where Sparse says so and the device has kernels for
    // the geometry (stride 1 on the CPU); otherwise the dense convolution runs on the masked weight.
    private Tensor Run(Tensor input, bool relu)
    {
        Devices.SparseMatrix? compressed = null;
        var geo = Tensor.Conv2dGeometryOf(input, Weight.Value, Bias?.Value, (Stride, Stride), (Padding, Padding));
        var mask = Weight.Mask;
        LastRunSparse = mask is not null && geo.N > 0 && input.Device.Backend.SupportsSparseConv(geo)
            && SparseCrossover.Choose(Sparse, Weight, geo, static g => SparseCrossover.Conv(g), out compressed);
        if (LastRunSparse)
        {
            return Tensor.SparseConv2d(input, Weight.Value, Bias?.Value, mask!, compressed!, geo, relu);
        }

        return Tensor.Conv2d(input, Weight.Value, Bias?.Value, (Stride, Stride), (Padding, Padding), relu);
    }
}
