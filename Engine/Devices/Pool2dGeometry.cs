namespace SparseNet.Engine.Devices;

/// <summary>Sizes of one 2-D pooling over <see cref="Planes"/> planes of H×W.</summary>
public readonly record struct Pool2dGeometry(int Planes, int H, int W, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW)
{
    /// <summary>Output height.</summary>
    public int OH => ((H + (2 * PadH) - KH) / StrideH) + 1;

    /// <summary>Output width.</summary>
    public int OW => ((W + (2 * PadW) - KW) / StrideW) + 1;
}
