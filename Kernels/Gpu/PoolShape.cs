namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Sizes of one 2-D pooling on the GPU: <see cref="Planes"/> planes of <see cref="H"/>×<see cref="W"/> (row-major,
/// plane after plane), a <see cref="KH"/>×<see cref="KW"/> window moved by strides (<see cref="SH"/>, <see cref="SW"/>),
/// and (<see cref="PH"/>, <see cref="PW"/>) rows and columns of padding on each side.
/// </summary>
/// <param name="Planes">Planes (images × channels).</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="KH">Window height.</param>
/// <param name="KW">Window width.</param>
/// <param name="SH">Vertical stride.</param>
/// <param name="SW">Horizontal stride.</param>
/// <param name="PH">Padding rows above and below.</param>
/// <param name="PW">Padding columns left and right.</param>
public readonly record struct PoolShape(int Planes, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW)
{
    /// <summary>Output height, (H + 2·PH − KH) / SH + 1.</summary>
    public int OH => ((H + (2 * PH) - KH) / SH) + 1;

    /// <summary>Output width, (W + 2·PW − KW) / SW + 1.</summary>
    public int OW => ((W + (2 * PW) - KW) / SW) + 1;

    /// <summary>Input elements, Planes·H·W.</summary>
    public long InputLength => (long)Planes * H * W;

    /// <summary>Output elements, Planes·OH·OW.</summary>
    public long OutputLength => (long)Planes * OH * OW;

    /// <summary>
    /// Throws unless the window fits the padded input and the padding is at most half the window (so no window lies
    /// wholly in padding), as the CPU pooling kernels require, and every index fits an int.
    /// </summary>
    internal void Validate(string op)
    {
        if (Planes < 0 || H < 1 || W < 1 || KH < 1 || KW < 1 || SH < 1 || SW < 1 || PH < 0 || PW < 0)
        {
            throw new ArgumentException($"{op}: invalid pooling of {Planes} planes of {H}×{W}, window {KH}×{KW}, stride ({SH},{SW}), padding ({PH},{PW})");
        }

        if (2 * PH > KH || 2 * PW > KW)
        {
            throw new ArgumentException($"{op}: padding ({PH},{PW}) must be at most half the kernel ({KH},{KW})");
        }

        if (H + (2 * PH) < KH || W + (2 * PW) < KW)
        {
            throw new ArgumentException($"{op}: kernel ({KH},{KW}) is larger than the padded input ({H}+2·{PH},{W}+2·{PW})");
        }

        if (InputLength > int.MaxValue || OutputLength > int.MaxValue)
        {
            throw new ArgumentException($"{op}: [{Planes},{H},{W}] → [{Planes},{OH},{OW}] has more than {int.MaxValue} elements");
        }
    }
}
