using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    // Depth splits of the weight gradient: enough groups to fill a large GPU, each split at least this many depth
    // tiles long, and never more than GemmMaxSplits partial results.
    private const int GemmSplitTargetGroups = 256;
    private const int GemmSplitMinTiles = 32;
    private const int GemmMaxSplits = 64;

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry>? _gemmConvForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry>? _gemmConvInputGrad;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry, int>? _gemmConvWeightGrad;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>? _gemmSumSplits;
    private MemoryBuffer1D<float, Stride1D.Dense>? _gemmWorkspace;

    /// <summary>
    /// y [N,O,OH,OW] = x [N,C,H,W] ⋆ w [O,C,KH,KW] (cross-correlation, zero padding) + bias [O] when
    /// <paramref name="bias"/> is not empty, then max(·, 0) when <paramref name="relu"/> (NaN stays NaN, −0 gives +0),
    /// with the geometry of <see cref="ConvShape"/>.
    /// </summary>
    /// <remarks>
    /// An implicit GEMM y_img = W [O, C·KH·KW] · X̂ [C·KH·KW, N·OH·OW] on the tiled core: the unfolded input is gathered
    /// while its tiles are loaded, never written out. Each output is one multiply-add chain over the taps in order.
    /// </remarks>
    /// <exception cref="ArgumentException">The shape is invalid, or a view is shorter than its shape.</exception>
    public void ConvForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ConvShape s, ArrayView<float> y, bool relu)
    {
        GemmCheckConv(s, x.Length, w.Length, y.Length, "y");
        bool hasBias = bias.Length > 0;
        if (hasBias && bias.Length != s.O)
        {
            throw new ArgumentException($"gpu conv {s}: bias has {bias.Length} elements, expected {s.O}");
        }

        if (s.N == 0)
        {
            return;
        }

        var g = new GemmConvGeometry(s, hasBias, relu);
        Cached(ref _gemmConvForward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry>(ConvForwardKernel, GemmLaunchBounds))(
            GemmConfig(s.O, g.Columns, 1), x, w, hasBias ? bias : w, y, g);
    }

    /// <summary>
    /// dx [N,C,H,W] (fully written) = the gradient of <see cref="ConvForward"/> with respect to x, given dy [N,O,OH,OW]
    /// and w.
    /// </summary>
    /// <remarks>
    /// An implicit GEMM dx [C, N·H·W] = Wᵀ [C, O·KH·KW] · dŶ [O·KH·KW, N·H·W], where dŶ gathers for every input pixel
    /// the output gradients it contributed to (zero where a tap falls between strides or outside the output): the
    /// col2im is a gather, each dx element one multiply-add chain in a fixed order, with no atomics.
    /// </remarks>
    /// <exception cref="ArgumentException">The shape is invalid, or a view is shorter than its shape.</exception>
    public void ConvInputGrad(ArrayView<float> dy, ArrayView<float> w, ConvShape s, ArrayView<float> dx)
    {
        GemmCheckConv(s, dx.Length, w.Length, dy.Length, "dy");
        if (s.N == 0)
        {
            return;
        }

        var g = new GemmConvGeometry(s, false, false);
        Cached(ref _gemmConvInputGrad, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry>(ConvInputGradKernel, GemmLaunchBounds))(
            GemmConfig(s.C, (int)Math.Min(int.MaxValue, (long)s.N * s.H * s.W), 1), dy, w, dx, g);
    }

    /// <summary>
    /// dw [O,C,KH,KW] (fully written, not accumulated) = the gradient of <see cref="ConvForward"/> with respect to w,
    /// given x and dy, summed over the batch.
    /// </summary>
    /// <remarks>
    /// An implicit GEMM dW [O, C·KH·KW] = dY [O, N·OH·OW] · X̂ᵀ [N·OH·OW, C·KH·KW]. When dW has few 128×128 blocks and the
    /// batch is deep, the depth N·OH·OW is split into a number of chunks fixed by the shape alone; the chunks' partial
    /// products go to a workspace kept by this kernel set and are added in chunk order, so the result is the same bits
    /// on every launch. Growing the workspace waits for the queued launches once.
    /// </remarks>
    /// <exception cref="ArgumentException">The shape is invalid, or a view is shorter than its shape.</exception>
    public void ConvWeightGrad(ArrayView<float> x, ArrayView<float> dy, ConvShape s, ArrayView<float> dw)
    {
        GemmCheckConv(s, x.Length, dw.Length, dy.Length, "dy");
        int size = s.O * s.Taps;
        if (s.N == 0)
        {
            Fill(dw.SubView(0, size), 0f);
            return;
        }

        var g = new GemmConvGeometry(s, false, false);
        int depth = g.Columns, splits = GemmWeightGradSplits(s.O, s.Taps, depth), chunk = 0;
        if (splits > 1)
        {
            int depthTiles = (depth + GemmTiles.BlockK - 1) / GemmTiles.BlockK;
            chunk = (depthTiles + splits - 1) / splits * GemmTiles.BlockK;
            splits = (depth + chunk - 1) / chunk;
        }

        var weightGrad = Cached(ref _gemmConvWeightGrad, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmConvGeometry, int>(ConvWeightGradKernel, GemmLaunchBounds));
        if (splits <= 1)
        {
            weightGrad(GemmConfig(s.O, s.Taps, 1), x, dy, dw, g, 0);
            return;
        }

        var partial = GemmWorkspace((long)splits * size);
        weightGrad(GemmConfig(s.O, s.Taps, splits), x, dy, partial, g, chunk);
        Cached(ref _gemmSumSplits, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(GemmSumSplitsKernel))(
            size, partial, dw, size, splits);
    }

    /// <summary>
    /// Depth splits of the weight gradient's GEMM [o, n] × depth: enough groups for a large GPU, each split at least
    /// <see cref="GemmSplitMinTiles"/> depth tiles; fixed by the shape alone so every device sums in the same order.
    /// </summary>
    internal static int GemmWeightGradSplits(int o, int taps, int depth)
    {
        long blocks = (long)GroupsFor(o, GemmTiles.BlockM) * GroupsFor(taps, GemmTiles.BlockN);
        long byGroups = (GemmSplitTargetGroups + blocks - 1) / blocks;
        long byDepth = (depth + GemmTiles.BlockK - 1) / GemmTiles.BlockK / GemmSplitMinTiles;
        return (int)Math.Max(1, Math.Min(Math.Min(byGroups, byDepth), GemmMaxSplits));
    }

    /// <summary>The forward convolution kernel; <paramref name="bias"/> is read only when the geometry says so.</summary>
    [GpuKernel(explicitlyGrouped: true)]
    internal static void ConvForwardKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y, GemmConvGeometry g) =>
        GemmTiles.Run(
            new GemmStridedLoader(w, w, false, g.Taps, 0, lineMajor: true), new GemmConvUnfoldedColumns(x, g), new GemmConvOutputStore(y, bias, g),
            g.O, g.Columns, g.Taps, 1, 0);

    /// <summary>The input-gradient kernel.</summary>
    [GpuKernel(explicitlyGrouped: true)]
    internal static void ConvInputGradKernel(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, GemmConvGeometry g) =>
        GemmTiles.Run(
            new GemmConvTransposedWeights(w, g), new GemmConvGatheredGradient(dy, g), new GemmConvInputGradStore(dx, g),
            g.C, g.N * g.InputPixels, g.O * g.KernelArea, 1, 0);

    /// <summary>
    /// The weight-gradient kernel: with <paramref name="chunk"/> 0 one product into dw; otherwise problem z sums depths
    /// [z·chunk, (z+1)·chunk) into slice z of the workspace <paramref name="output"/>.
    /// </summary>
    [GpuKernel(explicitlyGrouped: true)]
    internal static void ConvWeightGradKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> output, GemmConvGeometry g, int chunk) =>
        GemmTiles.Run(
            new GemmConvGradientRows(dy, g), new GemmConvUnfoldedTaps(x, g), new GemmConvWeightGradStore(output, g),
            g.O, g.Taps, g.Columns, chunk == 0 ? 1 : (g.Columns + chunk - 1) / chunk, chunk);

    /// <summary>output[i] = Σ_s partial[s·size + i], added in split order.</summary>
    [GpuKernel]
    internal static void GemmSumSplitsKernel(Index1D i, ArrayView<float> partial, ArrayView<float> output, int size, int splits)
    {
        float sum = partial[i];
        for (int s = 1; s < splits; s++)
        {
            sum += partial[((long)s * size) + i];
        }

        output[i] = sum;
    }

    // A workspace of at least the given length, grown (after the queued launches that may use the old one) on demand.
    private ArrayView<float> GemmWorkspace(long length)
    {
        if (_gemmWorkspace is null || _gemmWorkspace.Length < length)
        {
            if (_gemmWorkspace is not null)
            {
                Accelerator.Synchronize();
                _gemmWorkspace.Dispose();
                _gemmWorkspace = null;
            }

            _gemmWorkspace = Accelerator.Allocate1D<float>(length);
        }

        return _gemmWorkspace.View.SubView(0, length);
    }

    // The CPU convolution's shape rules, and the index range of the GPU kernels.
    private static void GemmCheckConv(ConvShape s, long inputLength, long weightLength, long outputLength, string outputName)
    {
        s.Check("gpu conv", inputLength, weightLength, outputLength, outputName);
        if ((long)s.N * s.C * s.H * s.W > int.MaxValue || (long)s.N * s.O * s.Positions > int.MaxValue || (long)s.O * s.Taps > int.MaxValue)
        {
            throw new ArgumentException($"gpu conv {s}: a tensor has more than {int.MaxValue} elements");
        }
    }
}
