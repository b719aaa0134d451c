namespace SparseNet.Engine.Devices;

/// <summary>Sizes of one 2-D convolution: input [N,C,H,W], weight [O,C,KH,KW], output [N,O,OH,OW].</summary>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W, int O, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW)
{
    /// <summary>Output height.</summary>
    public int OH => ToKernelShape().OH;

    /// <summary>Output width.</summary>
    public int OW => ToKernelShape().OW;

    /// <summary>The same sizes as the CPU kernels take them.</summary>
    internal Kernels.Cpu.ConvShape ToKernelShape() => new(N, C, H, W, O, KH, KW, StrideH, StrideW, PadH, PadW);
}
