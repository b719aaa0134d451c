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

    /// <summary>
    /// Throws when the sizes make no convolution or a buffer is shorter than they need, naming the values; messages
    /// start with <paramref name="op"/> (e.g. <c>conv</c>, <c>gpu conv</c>).
    /// </summary>
    internal void Check(string op, long inputLength, long weightLength, long outputLength, string outputName)
    {
        if (N < 0 || C < 1 || H < 1 || W < 1 || O < 1 || KH < 1 || KW < 1 || SH < 1 || SW < 1 || PH < 0 || PW < 0
            || H + (2 * PH) < KH || W + (2 * PW) < KW)
        {
            throw new ArgumentException($"{op}: invalid shape {this}");
        }

        var shape = this;
        Need("x", inputLength, (long)N * C * H * W);
        Need("w", weightLength, (long)O * Taps);
        Need(outputName, outputLength, (long)N * O * Positions);

        void Need(string name, long length, long needed)
        {
            if (length < needed)
            {
                throw new ArgumentException($"{op} {shape}: {name} has {length} elements, expected at least {needed}");
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"[{N},{C},{H},{W}] * [{O},{C},{KH},{KW}] stride ({SH},{SW}) padding ({PH},{PW})";
}
