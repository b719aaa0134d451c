using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// The basic residual block of He et al. (2016) as open_lth's <c>cifar_resnet</c> builds it:
/// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convolutions 3×3 with padding 1 and no bias.
/// Where the block changes the shape (stride 2 or a new width), the shortcut is a 1×1 convolution of the block's
/// stride without bias followed by batch norm (open_lth's "projection" shortcut); otherwise it is the identity.
/// </summary>
/// <remarks>
/// State-dict keys follow open_lth's (PyTorch's) names, so its checkpoints map one to one: <c>conv1.weight</c>,
/// <c>bn1.weight</c>, ..., and for a projection <c>shortcut.0.weight</c> (the convolution) and <c>shortcut.1.*</c>
/// (its batch norm).
/// </remarks>
public sealed class ResidualBlock : Module
{
    /// <summary>Creates a block from <paramref name="inChannels"/> to <paramref name="outChannels"/>, halving height and width when <paramref name="downsample"/>.</summary>
    public ResidualBlock(int inChannels, int outChannels, bool downsample)
    {
        if (inChannels <= 0 || outChannels <= 0)
        {
            throw new ArgumentException($"residual block: in {inChannels} and out {outChannels} channels must be positive");
        }

        int stride = downsample ? 2 : 1;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, stride, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(outChannels));
        Conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(outChannels));
        if (downsample || inChannels != outChannels)
        {
            // open_lth writes stride 2 here even for a width change alone, which could not be added to a residual of
            // stride 1; its plans only change width where they downsample, and there the two agree.
            Shortcut = RegisterModule("shortcut", new Sequential(
                ("0", new Conv2d(inChannels, outChannels, 1, stride, bias: false)),
                ("1", new BatchNorm2d(outChannels))));
        }
    }

    /// <summary>First 3×3 convolution (carries the stride).</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm after <see cref="Conv1"/>.</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>Second 3×3 convolution.</summary>
    public Conv2d Conv2 { get; }

    /// <summary>Batch norm after <see cref="Conv2"/>, before the sum.</summary>
    public BatchNorm2d Bn2 { get; }

    /// <summary>1×1 convolution and batch norm on the skip path, or null for the identity.</summary>
    public Sequential? Shortcut { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var residual = Conv2.Forward(Bn1.ForwardRelu(Conv1.Forward(input)));
        var skip = Shortcut is null ? input : Shortcut.Forward(input);
        if (!Shape.Equal(residual.Shape, skip.Shape))
        {
            throw new ArgumentException($"residual block: input {Shape.Format(input.Shape)} gives a residual of {Shape.Format(residual.Shape)} but a shortcut of {Shape.Format(skip.Shape)}");
        }

        // relu(bn2(residual) + skip) in one pass.
        return Bn2.ForwardAddRelu(residual, skip);
    }
}
