namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Sizes of one 2-D convolution over a batch: input [N,C,H,W], weight [O,C,KH,KW], output [N,O,OH,OW],
/// with the given stride and zero padding on each side.
/// </summary>
/// <param name="N">Images in the batch.</param>
/// <param name="C">Input channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="O">Output channels.</param>
/// <param name="KH">Kernel height.</param>
/// <param name="KW">Kernel width.</param>
/// <param name="SH">Vertical stride.</param>
/// <param name="SW">Horizontal stride.</param>
/// <param name="PH">Zero padding above and below.</param>
/// <param name="PW">Zero padding left and right.</param>
public readonly record struct ConvShape(int N, int C, int H, int W, int O, int KH, int KW, int SH, int SW, int PH, int PW)
{
    /// <summary>Output height.</summary>
    public int OH => ((H + (2 * PH) - KH) / SH) + 1;

    /// <summary>Output width.</summary>
    public int OW => ((W + (2 * PW) - KW) / SW) + 1;

    /// <summary>Rows of the unfolded input, C·KH·KW: the inner dimension of the forward product.</summary>
    public int Taps => C * KH * KW;

    /// <summary>Output positions per image, OH·OW.</summary>
    public int Positions => OH * OW;

    /// <summary>Multiply-adds of the forward pass (each gradient costs the same).</summary>
    public long MultiplyAdds => (long)N * O * Taps * Positions;

    /// <inheritdoc />
    public override string ToString() =>
        $"[{N},{C},{H},{W}] * [{O},{C},{KH},{KW}] stride ({SH},{SW}) padding ({PH},{PW})";
}
