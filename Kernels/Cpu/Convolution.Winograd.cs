using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// 3×3, stride-1, padding-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", CVPR 2016): each 2×2 block of outputs costs 16 multiply-adds per
/// input channel instead of 36.
/// </summary>
/// <remarks>
/// <para>With the transforms Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] and
/// Aᵀ = [1 1 1 0; 0 1 −1 −1], a tile's outputs are Y = Aᵀ [Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B)] A, d_c the 4×4 input patch
/// of channel c. The 16 element-wise products summed over channels are 16 independent GEMMs,
/// M_ξ [O, tiles] = U_ξ [O, C] · V_ξ [C, tiles], each run on a row of product tiles along the block. The tiles of a block
/// (whole rows of tiles, across images when a map is small) are the vector lanes of every step, so the NCHW layout is
/// read and written in place: a row of inputs is split into its even and odd columns by shuffles, and a row of outputs
/// merged back the same way.</para>
/// <para>Bits: the transforms are additions, subtractions and halvings in a fixed order, the same at every vector
/// width; each M element is one chain of fused multiply-adds over the channels per block of KC, as in the direct
/// products. So the result is the same for every width, thread count and block size, but it is not the bits of the
/// direct convolution: it agrees with it to within a few units in the last place of the sum of magnitudes.</para>
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>Whether convolutions that can take the Winograd path do (default on; <c>SPARSENET_WINOGRAD=0</c> turns it off).</summary>
    internal static bool WinogradEnabled { get; set; } = Environment.GetEnvironmentVariable("SPARSENET_WINOGRAD") != "0";

    /// <summary>
    /// Whether <paramref name="s"/> runs as Winograd F(2×2, 3×3): a 3×3 kernel, stride 1, padding 1, an even height,
    /// a width that is a multiple of 8 (rows of tiles a whole number of 4-float vectors), and at least 8 channels in
    /// and out (fewer leave the products too short to pay for the transforms).
    /// </summary>
    internal static bool WinogradApplies(ConvShape s) =>
        WinogradEnabled && s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 && s.PH == 1 && s.PW == 1
        && s.H % 2 == 0 && s.W % 8 == 0 && s.C >= 8 && s.O >= 8;

    /// <summary>
    /// Tiles per block: whole rows of tiles, a multiple of 32 (two vectors at the widest width), sized so a block's
    /// transformed inputs and products (16·(C+O) floats a tile) stay near 384 KiB; fixed by the shape alone.
    /// </summary>
    internal static int WinogradBlock(ConvShape s)
    {
        int unit = Lcm(s.W / 2, 32);
        return unit * Math.Max(1, 6144 / (s.C + s.O) / unit);
    }

    private static int Lcm(int a, int b)
    {
        int x = a, y = b;
        while (y != 0)
        {
            (x, y) = (y, x % y);
        }

        return a / x * b;
    }

    /// <summary>
    /// Floats from one ξ's slab of a transformed block to the next, for slabs of <paramref name="rows"/> ×
    /// <paramref name="block"/>: rounded up to a cache line and then to an odd number of lines, so that the 16 slabs
    /// start on 16 different cache sets (a multiple of 4 KiB would put them all in one set of L1, 8 ways deep, and the
    /// transforms, which touch all 16 at once, would miss all the time).
    /// </summary>
    internal static nint XiStride(int rows, int block)
    {
        long lines = (((long)rows * block) + 15) / 16;
        return (nint)((lines | 1) * 16);
    }

    /// <summary>
    /// The Winograd forward product; with <paramref name="transposedWeights"/>, <paramref name="w"/> is the forward
    /// kernel [C, O, 3, 3] of the convolution whose input gradient this is, flipped and transposed while it is
    /// transformed.
    /// </summary>
    private static void WinogradForward(float* x, float* w, float* bias, ConvShape s, float* y, int width, bool relu, bool transposedWeights = false)
    {
        int block = WinogradBlock(s);
        float[] packed = ArrayPool<float>.Shared.Rent(16 * s.O * s.C);
        try
        {
            fixed (float* pu = packed)
            {
                KernelWorkers.RunRanges(new WinogradWeightsWork(w, s.O, s.C, transposedWeights, pu), s.O, s.O * s.C >= 1024 ? KernelWorkers.MaxParts : 1);
                long tileRows = (long)s.N * (s.H / 2);
                int blocks = (int)((tileRows * (s.W / 2) + block - 1) / block);
                KernelWorkers.RunRanges(new WinogradForwardWork(x, pu, bias, y, s, width, block, relu), blocks, FineParts(s));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>
    /// U_ξ = G g Gᵀ for output channels [start, end) and every input channel, packed as [ξ][o][c], each output
    /// channel's row contiguous over the channels for the product tile's broadcasts. With <c>transposed</c>, g is the
    /// flipped kernel of the transposed convolution (the input gradient's): g_oc[i, j] = w[c, o, 2−i, 2−j], read in
    /// place.
    /// </summary>
    private readonly struct WinogradWeightsWork(float* w, int outputs, int channels, bool transposed, float* packed) : IRangeWork
    {
        public void Run(int start, int end)
        {
            nint perXi = (nint)outputs * channels;
            float* k = stackalloc float[9];
            float* t = stackalloc float[12];
            for (int o = start; o < end; o++)
            {
                for (int c = 0; c < channels; c++)
                {
                    nint at = ((nint)o * channels) + c;
                    for (int q = 0; q < 9; q++)
                    {
                        k[q] = transposed ? w[((((nint)c * outputs) + o) * 9) + 8 - q] : w[((((nint)o * channels) + c) * 9) + q];
                    }

                    for (int i = 0; i < 3; i++)
                    {
                        // G g: rows g₀, (g₀+g₁+g₂)/2, (g₀−g₁+g₂)/2, g₂ of each kernel column i.
                        t[i] = k[i];
                        t[3 + i] = (k[i] + k[3 + i] + k[6 + i]) * 0.5f;
                        t[6 + i] = (k[i] - k[3 + i] + k[6 + i]) * 0.5f;
                        t[9 + i] = k[6 + i];
                    }

                    for (int r = 0; r < 4; r++)
                    {
                        // (G g) Gᵀ along each row.
                        float* tr = t + (3 * r);
                        packed[(((4 * r) + 0) * perXi) + at] = tr[0];
                        packed[(((4 * r) + 1) * perXi) + at] = (tr[0] + tr[1] + tr[2]) * 0.5f;
                        packed[(((4 * r) + 2) * perXi) + at] = (tr[0] - tr[1] + tr[2]) * 0.5f;
                        packed[(((4 * r) + 3) * perXi) + at] = tr[2];
                    }
                }
            }
        }
    }

    /// <summary>Blocks [start, end) of tiles: transform the inputs, 16 products, transform the outputs.</summary>
    private readonly struct WinogradForwardWork(float* x, float* packedU, float* bias, float* y, ConvShape s, int width, int block, bool relu) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int tw = s.W / 2;
            nint vs = XiStride(s.C, block), ms = XiStride(s.O, block);
            float* v = Scratch((int)((16 * (vs + ms)) + s.W));
            float* m = v + (16 * vs);
            float* zeroRow = m + (16 * ms);
            long tileRows = (long)s.N * (s.H / 2);
            int lanes = TransformLanes(tw, width);
            for (int b = start; b < end; b++)
            {
                long firstRow = (long)b * (block / tw);
                int count = (int)Math.Min(block / tw, tileRows - firstRow);
                WinogradInput(lanes, x, s, firstRow, count, block, v, zeroRow);

                WinogradProducts(packedU, v, m, s.C, s.O, block, width);
                switch (lanes)
                {
                    case 16: WinogradOutput<Vector512<float>, Ops512>(m, bias, s, firstRow, count, block, y, relu); break;
                    case 8: WinogradOutput<Vector256<float>, Ops256>(m, bias, s, firstRow, count, block, y, relu); break;
                    default: WinogradOutput<Vector128<float>, Ops128>(m, bias, s, firstRow, count, block, y, relu); break;
                }
            }
        }
    }

    /// <summary>Lanes of the transforms: the widest of 16, 8 and 4 that divides a row of tiles and is within the width.</summary>
    private static int TransformLanes(int tilesPerRow, int width) =>
        width >= 16 && tilesPerRow % 16 == 0 ? 16 : width >= 8 && tilesPerRow % 8 == 0 ? 8 : 4;

    /// <summary><see cref="WinogradInput{TV, TOps}"/> at <paramref name="lanes"/> (16, 8 or 4) tiles a vector.</summary>
    private static void WinogradInput(int lanes, float* x, ConvShape s, long firstRow, int count, int block, float* v, float* zeroRow)
    {
        switch (lanes)
        {
            case 16: WinogradInput<Vector512<float>, Ops512>(x, s, firstRow, count, block, v, zeroRow); break;
            case 8: WinogradInput<Vector256<float>, Ops256>(x, s, firstRow, count, block, v, zeroRow); break;
            default: WinogradInput<Vector128<float>, Ops128>(x, s, firstRow, count, block, v, zeroRow); break;
        }
    }

    /// <summary>
    /// V_ξ [c, tile] = (Bᵀ d B)_ξ for <paramref name="count"/> rows of tiles from <paramref name="firstRow"/> (over the
    /// batch), all channels. For each vector of tiles: the four row combinations Bᵀ d over the tiles' 2·lanes columns,
    /// loaded straight from the image (the zero row for the padding above and below), then the column combinations on
    /// their even and odd columns, the column either side of the vector (zero in the padding) shifted in from a scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradInput<TV, TOps>(float* x, ConvShape s, long firstRow, int count, int block, float* v, float* zeroRow)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        int L = TOps.Count, W = s.W, H = s.H, tw = W / 2, th = H / 2;
        nint xiStride = XiStride(s.C, block);

        // A row of zeros stands for the padding above and below the image.
        float* zero = zeroRow;
        new Span<float>(zero, W).Clear();
        for (int row = 0; row < count; row++)
        {
            long g = firstRow + row;
            int n = (int)(g / th), h = 2 * (int)(g % th);
            nint col = (nint)row * tw;
            for (int c = 0; c < s.C; c++)
            {
                float* plane = x + ((((nint)n * s.C) + c) * H * W);
                float* d0 = h > 0 ? plane + ((nint)(h - 1) * W) : zero;
                float* d1 = plane + ((nint)h * W), d2 = d1 + W;
                float* d3 = h + 2 < H ? d2 + W : zero;
                float* dst = v + ((nint)c * block) + col;
                if (tw == L)
                {
                    // One vector a row: the columns either side are the padding.
                    Vector(d0, d1, d2, d3, 0, W, dst, xiStride, false);
                    continue;
                }

                for (int t0 = 0; t0 < tw; t0 += L)
                {
                    Vector(d0, d1, d2, d3, t0, W, dst, xiStride, true);
                }
            }
        }

        // Tiles t0 … t0 + L − 1 of one channel's row of tiles; without neighbours, the columns either side are zero.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Vector(float* d0, float* d1, float* d2, float* d3, int t0, int W, float* dst, nint xiStride, bool neighbours)
        {
            int L = TOps.Count;

            // Columns 2·t0 … 2·t0 + 2L − 1 of the four row combinations Bᵀ d, as (lo, hi) pairs.
            int k = 2 * t0;
            TV a0 = TOps.Load(d0 + k), a1 = TOps.Load(d1 + k), a2 = TOps.Load(d2 + k), a3 = TOps.Load(d3 + k);
            TV b0 = TOps.Load(d0 + k + L), b1 = TOps.Load(d1 + k + L), b2 = TOps.Load(d2 + k + L), b3 = TOps.Load(d3 + k + L);

            // The columns either side, zero in the padding: tile t reads columns 2t−1 … 2t+2, that is odd(t−1),
            // even(t), odd(t), even(t+1) of the row.
            int left = k - 1, right = k + (2 * L);
            float l0 = 0f, l1 = 0f, l2 = 0f, l3 = 0f, q0 = 0f, q1 = 0f, q2 = 0f, q3 = 0f;
            if (neighbours && left >= 0)
            {
                l0 = d0[left] - d2[left];
                l1 = d1[left] + d2[left];
                l2 = d2[left] - d1[left];
                l3 = d1[left] - d3[left];
            }

            if (neighbours && right < W)
            {
                q0 = d0[right] - d2[right];
                q1 = d1[right] + d2[right];
                q2 = d2[right] - d1[right];
                q3 = d1[right] - d3[right];
            }

            float* o0 = dst + t0;
            Columns(TOps.Sub(a0, a2), TOps.Sub(b0, b2), l0, q0, o0, xiStride);
            Columns(TOps.Add(a1, a2), TOps.Add(b1, b2), l1, q1, o0 + (4 * xiStride), xiStride);
            Columns(TOps.Sub(a2, a1), TOps.Sub(b2, b1), l2, q2, o0 + (8 * xiStride), xiStride);
            Columns(TOps.Sub(a1, a3), TOps.Sub(b1, b3), l3, q3, o0 + (12 * xiStride), xiStride);
        }

        // (B ᵀd) B along one combined row: its even and odd columns, and the odd column before and even column after.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Columns(TV lo, TV hi, float left, float right, float* dst, nint stride)
        {
            TV e = TOps.Evens(lo, hi), o = TOps.Odds(lo, hi);
            TOps.Store(TOps.Sub(TOps.ShiftUp(o, left), o), dst);
            TOps.Store(TOps.Add(e, o), dst + stride);
            TOps.Store(TOps.Sub(o, e), dst + (2 * stride));
            TOps.Store(TOps.Sub(e, TOps.ShiftDown(e, right)), dst + (3 * stride));
        }
    }

    /// <summary>
    /// M_ξ [O, block] = U_ξ [O, C] · V_ξ [C, block] for the 16 ξ, on rows of product tiles that run along the whole
    /// block (scalar chains below 8 lanes); each element one chain of fused multiply-adds per depth block of channels.
    /// </summary>
    private static void WinogradProducts(float* packedU, float* v, float* m, int channels, int outputs, int block, int width)
    {
        int rows = width >= 8 ? DirectForwardRows(width) : 1;
        for (int xi = 0; xi < 16; xi++)
        {
            float* vx = v + (xi * XiStride(channels, block));
            float* mx = m + (xi * XiStride(outputs, block));
            float* ux = packedU + ((nint)xi * outputs * channels);
            if (width < 8)
            {
                for (int o = 0; o < outputs; o++)
                {
                    float* uo = ux + ((nint)o * channels);
                    float* mo = mx + ((nint)o * block);
                    for (int t = 0; t < block; t++)
                    {
                        float sum = 0f;
                        for (int pc = 0; pc < channels; pc += KC)
                        {
                            float chain = 0f;
                            for (int c = pc, ce = Math.Min(channels, pc + KC); c < ce; c++)
                            {
                                chain = MathF.FusedMultiplyAdd(uo[c], vx[((nint)c * block) + t], chain);
                            }

                            sum = pc == 0 ? chain : sum + chain;
                        }

                        mo[t] = sum;
                    }
                }

                continue;
            }

            for (int o0 = 0; o0 < outputs; o0 += rows)
            {
                for (int pc = 0; pc < channels; pc += KC)
                {
                    var k = new ProductTile(
                        ux + ((nint)o0 * channels) + pc, channels, Math.Min(rows, outputs - o0), vx + ((nint)pc * block), block, Math.Min(KC, channels - pc),
                        mx + ((nint)o0 * block), block, overwrite: pc == 0);
                    if (width == 16)
                    {
                        k.Rows<Vector512<float>, Ops512, EightRows>();
                    }
                    else
                    {
                        k.Rows<Vector256<float>, Ops256, SixRows>();
                    }
                }
            }
        }
    }

    /// <summary>
    /// Y = Aᵀ M A for <paramref name="count"/> rows of tiles, every output channel, plus the bias and the ReLU; each
    /// 2×2 block's two rows merged from their even and odd columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradOutput<TV, TOps>(float* m, float* bias, ConvShape s, long firstRow, int count, int block, float* y, bool relu)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        int L = TOps.Count, W = s.W, H = s.H, tw = W / 2, th = H / 2;
        nint xs = XiStride(s.O, block);
        for (int row = 0; row < count; row++)
        {
            long g = firstRow + row;
            int n = (int)(g / th), h = 2 * (int)(g % th);
            nint col = (nint)row * tw;
            for (int o = 0; o < s.O; o++)
            {
                float* y0 = y + ((((nint)n * s.O) + o) * H * W) + ((nint)h * W), y1 = y0 + W;
                float* mo = m + ((nint)o * block) + col;
                TV b = TOps.Create(bias != null ? bias[o] : 0f);
                for (int t0 = 0; t0 < tw; t0 += L)
                {
                    float* p = mo + t0;
                    TV m0 = TOps.Load(p), m1 = TOps.Load(p + xs), m2 = TOps.Load(p + (2 * xs)), m3 = TOps.Load(p + (3 * xs));
                    TV m4 = TOps.Load(p + (4 * xs)), m5 = TOps.Load(p + (5 * xs)), m6 = TOps.Load(p + (6 * xs)), m7 = TOps.Load(p + (7 * xs));
                    TV m8 = TOps.Load(p + (8 * xs)), m9 = TOps.Load(p + (9 * xs)), m10 = TOps.Load(p + (10 * xs)), m11 = TOps.Load(p + (11 * xs));
                    TV m12 = TOps.Load(p + (12 * xs)), m13 = TOps.Load(p + (13 * xs)), m14 = TOps.Load(p + (14 * xs)), m15 = TOps.Load(p + (15 * xs));

                    // Aᵀ M: rows m₀+m₁+m₂ and m₁−m₂−m₃ of each column; then · A along each row.
                    TV s00 = TOps.Add(TOps.Add(m0, m4), m8), s01 = TOps.Add(TOps.Add(m1, m5), m9);
                    TV s02 = TOps.Add(TOps.Add(m2, m6), m10), s03 = TOps.Add(TOps.Add(m3, m7), m11);
                    TV s10 = TOps.Sub(TOps.Sub(m4, m8), m12), s11 = TOps.Sub(TOps.Sub(m5, m9), m13);
                    TV s12 = TOps.Sub(TOps.Sub(m6, m10), m14), s13 = TOps.Sub(TOps.Sub(m7, m11), m15);
                    TV y00 = TOps.Add(TOps.Add(s00, s01), s02), y01 = TOps.Sub(TOps.Sub(s01, s02), s03);
                    TV y10 = TOps.Add(TOps.Add(s10, s11), s12), y11 = TOps.Sub(TOps.Sub(s11, s12), s13);
                    if (bias != null)
                    {
                        y00 = TOps.Add(y00, b);
                        y01 = TOps.Add(y01, b);
                        y10 = TOps.Add(y10, b);
                        y11 = TOps.Add(y11, b);
                    }

                    if (relu)
                    {
                        y00 = TOps.Relu(y00);
                        y01 = TOps.Relu(y01);
                        y10 = TOps.Relu(y10);
                        y11 = TOps.Relu(y11);
                    }

                    TOps.Store(TOps.InterleaveLower(y00, y01), y0 + (2 * t0));
                    TOps.Store(TOps.InterleaveUpper(y00, y01), y0 + (2 * t0) + L);
                    TOps.Store(TOps.InterleaveLower(y10, y11), y1 + (2 * t0));
                    TOps.Store(TOps.InterleaveUpper(y10, y11), y1 + (2 * t0) + L);
                }
            }
        }
    }
}
