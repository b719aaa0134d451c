namespace SparseNet.Engine.Nn;

/// <summary>How the scale γ of every <see cref="BatchNorm2d"/> starts (the shift β always starts at 0).</summary>
public enum BatchNormInit
{
    /// <summary>γ = 1, as PyTorch constructs the layer (open_lth's <c>fixed</c>).</summary>
    Ones,

    /// <summary>γ ~ U(0, 1), open_lth's <c>uniform</c> (its default for the CIFAR VGG and ResNet models).</summary>
    Uniform,
}
