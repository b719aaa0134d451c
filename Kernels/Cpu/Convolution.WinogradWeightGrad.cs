using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The weight gradient of a Winograd F(2×2, 3×3) convolution.</summary>
/// <remarks>
/// <para>With U = G g Gᵀ, V = Bᵀ d B and M = Σ_c U ⊙ V as in the forward pass, the gradient of Y = Aᵀ M A gives
/// ∂M = A ∂Y Aᵀ per tile, ∂U_ξ [C, O] = Σ_tiles V_ξ [C, tile] · ∂M_ξ [tile, O], and ∂g = Gᵀ ∂U G: 16 products whose
/// depth runs over the tiles, 16 multiply-adds per 2×2 block of outputs instead of 36. ∂M is built with the output
/// channels as lanes (dY's two rows of a row of tiles transposed first), so the product's vector operand is ∂M and
/// its broadcasts come straight from V's rows.</para>
/// <para>Bits: each ∂U element is one chain of fused multiply-adds over a block's tiles; the blocks are summed in
/// order within a fixed number of chunks of blocks, and the chunks added in order, all fixed by the shape; so the
/// result is the same at every width and thread count.</para>
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>
    /// Whether the weight gradient of <paramref name="s"/> runs as Winograd: the forward's conditions, output channels
    /// a multiple of 16 (whole register tiles at every width: two vectors of 8, or of 16 where 32 divide them) and at
    /// most 128·128 channel pairs (the per-chunk sums of ∂U stay small).
    /// </summary>
    internal static bool WinogradWeightGradApplies(ConvShape s) =>
        WinogradApplies(s) && s.O % 16 == 0 && (long)s.C * s.O <= 128 * 128;

    /// <summary>Chunks of blocks the Winograd weight gradient sums separately before adding them in order: up to 8, fixed by the shape (through its number of blocks) alone.</summary>
    private static int WinogradChunks(int blocks) => Math.Min(8, blocks);

    private static void WinogradWeightGrad(float* x, float* dy, ConvShape s, float* dw, int width)
    {
        int block = WinogradBlock(s), tw = s.W / 2;
        long tiles = (long)s.N * (s.H / 2) * tw;
        int blocks = (int)((tiles + block - 1) / block), chunks = WinogradChunks(blocks);
        int size = 16 * s.C * s.O;
        float[] sums = ArrayPool<float>.Shared.Rent(chunks * size);
        try
        {
            fixed (float* ps = sums)
            {
                KernelWorkers.RunRanges(new WinogradWeightGradWork(x, dy, ps, s, width, block, blocks, chunks), chunks, Parts(s));
                KernelWorkers.RunRanges(new WinogradWeightsBackWork(ps, chunks, s.C, s.O, dw), s.C, s.O * s.C >= 1024 ? KernelWorkers.MaxParts : 1);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(sums);
        }
    }

    /// <summary>
    /// ∂g [O, C, 3, 3] = Gᵀ ∂U G for input channels [start, end), ∂U the chunks' sums (each [ξ][c][o]) added in chunk
    /// order; a channel's 16 rows of ∂U are summed whole (contiguous over o) before the transform runs along them.
    /// </summary>
    private readonly struct WinogradWeightsBackWork(float* sums, int chunks, int channels, int outputs, float* dw) : IRangeWork
    {
        public void Run(int start, int end)
        {
            nint perXi = (nint)channels * outputs, size = 16 * perXi;
            float* u = Scratch(28 * outputs);
            float* t = u + (16 * outputs);
            for (int c = start; c < end; c++)
            {
                for (int xi = 0; xi < 16; xi++)
                {
                    float* p = sums + (xi * perXi) + ((nint)c * outputs);
                    var row = new Span<float>(u + (xi * outputs), outputs);
                    new ReadOnlySpan<float>(p, outputs).CopyTo(row);
                    for (int k = 1; k < chunks; k++)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(p + (k * size), outputs), row);
                    }
                }

                for (int o = 0; o < outputs; o++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        // Gᵀ ∂U down each column j.
                        float a = u[(j * outputs) + o], b = u[((4 + j) * outputs) + o], d = u[((8 + j) * outputs) + o], e = u[((12 + j) * outputs) + o];
                        t[j] = a + (0.5f * (b + d));
                        t[4 + j] = 0.5f * (b - d);
                        t[8 + j] = (0.5f * (b + d)) + e;
                    }

                    float* g = dw + ((((nint)o * channels) + c) * 9);
                    for (int i = 0; i < 3; i++)
                    {
                        // (Gᵀ ∂U) G along each row i.
                        float* ti = t + (4 * i);
                        g[(3 * i) + 0] = ti[0] + (0.5f * (ti[1] + ti[2]));
                        g[(3 * i) + 1] = 0.5f * (ti[1] - ti[2]);
                        g[(3 * i) + 2] = (0.5f * (ti[1] + ti[2])) + ti[3];
                    }
                }
            }
        }
    }

    /// <summary>Chunks [start, end) of blocks: each block's V and ∂M, then its 16 products added into the chunk's ∂U.</summary>
    private readonly struct WinogradWeightGradWork(float* x, float* dy, float* sums, ConvShape s, int width, int block, int blocks, int chunks) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int tw = s.W / 2, W = s.W;
            nint vs = XiStride(s.C, block), ms = XiStride(s.O, block);
            float* v = Scratch((int)((16 * (vs + ms)) + (2 * W * s.O) + W));
            float* dm = v + (16 * vs);
            float* transposed = dm + (16 * ms);
            float* zeroRow = transposed + ((nint)2 * W * s.O);
            long tileRows = (long)s.N * (s.H / 2);
            int lanes = TransformLanes(tw, width), size = 16 * s.C * s.O;
            for (int chunk = start; chunk < end; chunk++)
            {
                float* du = sums + ((nint)chunk * size);
                new Span<float>(du, size).Clear();
                int b0 = (int)((long)blocks * chunk / chunks), b1 = (int)((long)blocks * (chunk + 1) / chunks);
                for (int b = b0; b < b1; b++)
                {
                    long firstRow = (long)b * (block / tw);
                    int count = (int)Math.Min(block / tw, tileRows - firstRow);
                    WinogradInput(lanes, x, s, firstRow, count, block, v, zeroRow);

                    switch (width)
                    {
                        case >= 16: WinogradOutputGrad<Vector512<float>, Ops512>(dy, s, firstRow, count, block, transposed, dm); break;
                        case 8: WinogradOutputGrad<Vector256<float>, Ops256>(dy, s, firstRow, count, block, transposed, dm); break;
                        default: WinogradOutputGrad<Vector128<float>, Ops128>(dy, s, firstRow, count, block, transposed, dm); break;
                    }

                    WinogradGradProducts(v, dm, du, s.C, s.O, block, count * tw, width);
                }
            }
        }
    }

    /// <summary>
    /// ∂M_ξ [tile, o] = (A ∂Y Aᵀ)_ξ for <paramref name="count"/> rows of tiles, the output channels as lanes: each row
    /// of tiles' two rows of dY are first transposed to [column][o].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradOutputGrad<TV, TOps>(float* dy, ConvShape s, long firstRow, int count, int block, float* transposed, float* dm)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        int L = TOps.Count, W = s.W, H = s.H, O = s.O, tw = W / 2, th = H / 2;
        nint xs = XiStride(O, block);
        var zero = TOps.Create(0f);
        for (int row = 0; row < count; row++)
        {
            long g = firstRow + row;
            int n = (int)(g / th), h = 2 * (int)(g % th);
            // The two rows are contiguous: [O][2W] from dY to [2W][O], in L×L blocks.
            float* rows = dy + ((nint)n * O * H * W) + ((nint)h * W);
            for (int o = 0; o < O; o += L)
            {
                for (int w = 0; w < 2 * W; w += L)
                {
                    Transpose<TV, TOps>(rows + ((nint)o * H * W) + w, (nint)H * W, transposed + ((nint)w * O) + o, O);
                }
            }

            for (int j = 0; j < tw; j++)
            {
                float* top = transposed + ((nint)2 * j * O), bottom = top + ((nint)W * O);
                float* d = dm + ((((nint)row * tw) + j) * O);
                for (int o = 0; o < O; o += L)
                {
                    TV a = TOps.Load(top + o), b = TOps.Load(top + O + o), c = TOps.Load(bottom + o), e = TOps.Load(bottom + O + o);

                    // A ∂Y: rows (a, b), (a+c, b+e), (a−c, b−e), (−c, −e); then each row (p, q) · Aᵀ: p, p+q, p−q, −q.
                    Row(a, b, d + o, xs, zero);
                    Row(TOps.Add(a, c), TOps.Add(b, e), d + o + (4 * xs), xs, zero);
                    Row(TOps.Sub(a, c), TOps.Sub(b, e), d + o + (8 * xs), xs, zero);
                    Row(TOps.Sub(zero, c), TOps.Sub(zero, e), d + o + (12 * xs), xs, zero);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(TV p, TV q, float* d, nint stride, TV zero)
        {
            TOps.Store(p, d);
            TOps.Store(TOps.Add(p, q), d + stride);
            TOps.Store(TOps.Sub(p, q), d + (2 * stride));
            TOps.Store(TOps.Sub(zero, q), d + (3 * stride));
        }
    }

    /// <summary>
    /// The L×L block at <paramref name="source"/> (rows <paramref name="sourceStride"/> floats apart) transposed to
    /// <paramref name="target"/> (rows <paramref name="targetStride"/> apart), L = <c>TOps.Count</c>: log₂ L rounds
    /// of interleaving row i with row i + L/2, in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose<TV, TOps>(float* source, nint sourceStride, float* target, nint targetStride)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        switch (TOps.Count)
        {
            case 16: Transpose16<TV, TOps>(source, sourceStride, target, targetStride); break;
            case 8: Transpose8<TV, TOps>(source, sourceStride, target, targetStride); break;
            default: Transpose4<TV, TOps>(source, sourceStride, target, targetStride); break;
        }
    }

    /// <summary><see cref="Transpose{TV, TOps}"/> at 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16<TV, TOps>(float* source, nint sourceStride, float* target, nint targetStride)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        TV a0 = TOps.Load(source);
        TV a1 = TOps.Load(source + (1 * sourceStride));
        TV a2 = TOps.Load(source + (2 * sourceStride));
        TV a3 = TOps.Load(source + (3 * sourceStride));
        TV a4 = TOps.Load(source + (4 * sourceStride));
        TV a5 = TOps.Load(source + (5 * sourceStride));
        TV a6 = TOps.Load(source + (6 * sourceStride));
        TV a7 = TOps.Load(source + (7 * sourceStride));
        TV a8 = TOps.Load(source + (8 * sourceStride));
        TV a9 = TOps.Load(source + (9 * sourceStride));
        TV a10 = TOps.Load(source + (10 * sourceStride));
        TV a11 = TOps.Load(source + (11 * sourceStride));
        TV a12 = TOps.Load(source + (12 * sourceStride));
        TV a13 = TOps.Load(source + (13 * sourceStride));
        TV a14 = TOps.Load(source + (14 * sourceStride));
        TV a15 = TOps.Load(source + (15 * sourceStride));
        TV b0 = TOps.InterleaveLower(a0, a8);
        TV b1 = TOps.InterleaveUpper(a0, a8);
        TV b2 = TOps.InterleaveLower(a1, a9);
        TV b3 = TOps.InterleaveUpper(a1, a9);
        TV b4 = TOps.InterleaveLower(a2, a10);
        TV b5 = TOps.InterleaveUpper(a2, a10);
        TV b6 = TOps.InterleaveLower(a3, a11);
        TV b7 = TOps.InterleaveUpper(a3, a11);
        TV b8 = TOps.InterleaveLower(a4, a12);
        TV b9 = TOps.InterleaveUpper(a4, a12);
        TV b10 = TOps.InterleaveLower(a5, a13);
        TV b11 = TOps.InterleaveUpper(a5, a13);
        TV b12 = TOps.InterleaveLower(a6, a14);
        TV b13 = TOps.InterleaveUpper(a6, a14);
        TV b14 = TOps.InterleaveLower(a7, a15);
        TV b15 = TOps.InterleaveUpper(a7, a15);
        a0 = TOps.InterleaveLower(b0, b8);
        a1 = TOps.InterleaveUpper(b0, b8);
        a2 = TOps.InterleaveLower(b1, b9);
        a3 = TOps.InterleaveUpper(b1, b9);
        a4 = TOps.InterleaveLower(b2, b10);
        a5 = TOps.InterleaveUpper(b2, b10);
        a6 = TOps.InterleaveLower(b3, b11);
        a7 = TOps.InterleaveUpper(b3, b11);
        a8 = TOps.InterleaveLower(b4, b12);
        a9 = TOps.InterleaveUpper(b4, b12);
        a10 = TOps.InterleaveLower(b5, b13);
        a11 = TOps.InterleaveUpper(b5, b13);
        a12 = TOps.InterleaveLower(b6, b14);
        a13 = TOps.InterleaveUpper(b6, b14);
        a14 = TOps.InterleaveLower(b7, b15);
        a15 = TOps.InterleaveUpper(b7, b15);
        b0 = TOps.InterleaveLower(a0, a8);
        b1 = TOps.InterleaveUpper(a0, a8);
        b2 = TOps.InterleaveLower(a1, a9);
        b3 = TOps.InterleaveUpper(a1, a9);
        b4 = TOps.InterleaveLower(a2, a10);
        b5 = TOps.InterleaveUpper(a2, a10);
        b6 = TOps.InterleaveLower(a3, a11);
        b7 = TOps.InterleaveUpper(a3, a11);
        b8 = TOps.InterleaveLower(a4, a12);
        b9 = TOps.InterleaveUpper(a4, a12);
        b10 = TOps.InterleaveLower(a5, a13);
        b11 = TOps.InterleaveUpper(a5, a13);
        b12 = TOps.InterleaveLower(a6, a14);
        b13 = TOps.InterleaveUpper(a6, a14);
        b14 = TOps.InterleaveLower(a7, a15);
        b15 = TOps.InterleaveUpper(a7, a15);
        a0 = TOps.InterleaveLower(b0, b8);
        a1 = TOps.InterleaveUpper(b0, b8);
        a2 = TOps.InterleaveLower(b1, b9);
        a3 = TOps.InterleaveUpper(b1, b9);
        a4 = TOps.InterleaveLower(b2, b10);
        a5 = TOps.InterleaveUpper(b2, b10);
        a6 = TOps.InterleaveLower(b3, b11);
        a7 = TOps.InterleaveUpper(b3, b11);
        a8 = TOps.InterleaveLower(b4, b12);
        a9 = TOps.InterleaveUpper(b4, b12);
        a10 = TOps.InterleaveLower(b5, b13);
        a11 = TOps.InterleaveUpper(b5, b13);
        a12 = TOps.InterleaveLower(b6, b14);
        a13 = TOps.InterleaveUpper(b6, b14);
        a14 = TOps.InterleaveLower(b7, b15);
        a15 = TOps.InterleaveUpper(b7, b15);
        TOps.Store(a0, target);
        TOps.Store(a1, target + (1 * targetStride));
        TOps.Store(a2, target + (2 * targetStride));
        TOps.Store(a3, target + (3 * targetStride));
        TOps.Store(a4, target + (4 * targetStride));
        TOps.Store(a5, target + (5 * targetStride));
        TOps.Store(a6, target + (6 * targetStride));
        TOps.Store(a7, target + (7 * targetStride));
        TOps.Store(a8, target + (8 * targetStride));
        TOps.Store(a9, target + (9 * targetStride));
        TOps.Store(a10, target + (10 * targetStride));
        TOps.Store(a11, target + (11 * targetStride));
        TOps.Store(a12, target + (12 * targetStride));
        TOps.Store(a13, target + (13 * targetStride));
        TOps.Store(a14, target + (14 * targetStride));
        TOps.Store(a15, target + (15 * targetStride));
    }

    /// <summary><see cref="Transpose{TV, TOps}"/> at 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8<TV, TOps>(float* source, nint sourceStride, float* target, nint targetStride)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        TV a0 = TOps.Load(source);
        TV a1 = TOps.Load(source + (1 * sourceStride));
        TV a2 = TOps.Load(source + (2 * sourceStride));
        TV a3 = TOps.Load(source + (3 * sourceStride));
        TV a4 = TOps.Load(source + (4 * sourceStride));
        TV a5 = TOps.Load(source + (5 * sourceStride));
        TV a6 = TOps.Load(source + (6 * sourceStride));
        TV a7 = TOps.Load(source + (7 * sourceStride));
        TV b0 = TOps.InterleaveLower(a0, a4);
        TV b1 = TOps.InterleaveUpper(a0, a4);
        TV b2 = TOps.InterleaveLower(a1, a5);
        TV b3 = TOps.InterleaveUpper(a1, a5);
        TV b4 = TOps.InterleaveLower(a2, a6);
        TV b5 = TOps.InterleaveUpper(a2, a6);
        TV b6 = TOps.InterleaveLower(a3, a7);
        TV b7 = TOps.InterleaveUpper(a3, a7);
        a0 = TOps.InterleaveLower(b0, b4);
        a1 = TOps.InterleaveUpper(b0, b4);
        a2 = TOps.InterleaveLower(b1, b5);
        a3 = TOps.InterleaveUpper(b1, b5);
        a4 = TOps.InterleaveLower(b2, b6);
        a5 = TOps.InterleaveUpper(b2, b6);
        a6 = TOps.InterleaveLower(b3, b7);
        a7 = TOps.InterleaveUpper(b3, b7);
        b0 = TOps.InterleaveLower(a0, a4);
        b1 = TOps.InterleaveUpper(a0, a4);
        b2 = TOps.InterleaveLower(a1, a5);
        b3 = TOps.InterleaveUpper(a1, a5);
        b4 = TOps.InterleaveLower(a2, a6);
        b5 = TOps.InterleaveUpper(a2, a6);
        b6 = TOps.InterleaveLower(a3, a7);
        b7 = TOps.InterleaveUpper(a3, a7);
        TOps.Store(b0, target);
        TOps.Store(b1, target + (1 * targetStride));
        TOps.Store(b2, target + (2 * targetStride));
        TOps.Store(b3, target + (3 * targetStride));
        TOps.Store(b4, target + (4 * targetStride));
        TOps.Store(b5, target + (5 * targetStride));
        TOps.Store(b6, target + (6 * targetStride));
        TOps.Store(b7, target + (7 * targetStride));
    }

    /// <summary><see cref="Transpose{TV, TOps}"/> at 4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4<TV, TOps>(float* source, nint sourceStride, float* target, nint targetStride)
        where TV : struct
        where TOps : struct, IPairOps<TV>
    {
        TV a0 = TOps.Load(source);
        TV a1 = TOps.Load(source + (1 * sourceStride));
        TV a2 = TOps.Load(source + (2 * sourceStride));
        TV a3 = TOps.Load(source + (3 * sourceStride));
        TV b0 = TOps.InterleaveLower(a0, a2);
        TV b1 = TOps.InterleaveUpper(a0, a2);
        TV b2 = TOps.InterleaveLower(a1, a3);
        TV b3 = TOps.InterleaveUpper(a1, a3);
        a0 = TOps.InterleaveLower(b0, b2);
        a1 = TOps.InterleaveUpper(b0, b2);
        a2 = TOps.InterleaveLower(b1, b3);
        a3 = TOps.InterleaveUpper(b1, b3);
        TOps.Store(a0, target);
        TOps.Store(a1, target + (1 * targetStride));
        TOps.Store(a2, target + (2 * targetStride));
        TOps.Store(a3, target + (3 * targetStride));
    }

    /// <summary>∂U_ξ [c, o] += Σ_tiles V_ξ [c, tile] · ∂M_ξ [tile, o] over a block's <paramref name="tiles"/> valid tiles, for the 16 ξ.</summary>
    private static void WinogradGradProducts(float* v, float* dm, float* du, int channels, int outputs, int block, int tiles, int width)
    {
        // At 16 lanes, output channels that 32 do not divide run as two vectors of 8 (eight rows still, as the
        // registers allow); the chain of each ∂U element is the same either way.
        bool halves = width == 16 && outputs % 32 != 0;
        int rows = width >= 8 ? DirectForwardRows(width) : 1;
        for (int xi = 0; xi < 16; xi++)
        {
            float* vx = v + (xi * XiStride(channels, block));
            float* mx = dm + (xi * XiStride(outputs, block));
            float* ux = du + ((nint)xi * channels * outputs);
            if (width < 8)
            {
                for (int c = 0; c < channels; c++)
                {
                    for (int o = 0; o < outputs; o++)
                    {
                        float chain = 0f;
                        for (int t = 0; t < tiles; t++)
                        {
                            chain = MathF.FusedMultiplyAdd(vx[((nint)c * block) + t], mx[((nint)t * outputs) + o], chain);
                        }

                        ux[((nint)c * outputs) + o] += chain;
                    }
                }

                continue;
            }

            for (int c0 = 0; c0 < channels; c0 += rows)
            {
                var k = new ProductTile(vx + ((nint)c0 * block), block, Math.Min(rows, channels - c0), mx, outputs, tiles, ux + ((nint)c0 * outputs), outputs, overwrite: false);
                if (halves)
                {
                    k.Rows<Vector256<float>, Ops256, EightRows>();
                }
                else if (width == 16)
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

    /// <summary>
    /// A row of register tiles of C [valid, columns] (+)= A [valid, depth] · B [depth, columns]: each tile
    /// <c>TRows</c> rows (broadcasts from A's rows, <paramref name="lda"/> apart and contiguous over the depth) × two
    /// vectors (from B's rows, <paramref name="ldb"/> apart), one chain of fused multiply-adds over the depth from zero,
    /// stored (<paramref name="overwrite"/>) or added into C, whose rows are <paramref name="ldb"/> apart too. The
    /// Winograd products run on it both ways: M = U · V over the channels and ∂U = V · ∂M over the tiles.
    /// </summary>
    private readonly struct ProductTile(float* a, int lda, int valid, float* b, int ldb, int depth, float* c, int columns, bool overwrite)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows<TV, TOps, TRows>()
            where TV : struct
            where TOps : struct, IVectorOps<TV>
            where TRows : struct, IRowCount
        {
            // Rows past the last valid one read row 0; their sums are dropped.
            float* a0 = a, a1 = valid > 1 ? a + lda : a, a2 = valid > 2 ? a + (2 * lda) : a, a3 = valid > 3 ? a + (3 * lda) : a;
            float* a4 = valid > 4 ? a + (4 * lda) : a, a5 = valid > 5 ? a + (5 * lda) : a, a6 = valid > 6 ? a + (6 * lda) : a, a7 = valid > 7 ? a + (7 * lda) : a;
            int n = TOps.Count;
            for (int col = 0; col < columns; col += 2 * n)
            {
                var zero = TOps.Create(0f);
                TV c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
                TV c40 = zero, c41 = zero, c50 = zero, c51 = zero, c60 = zero, c61 = zero, c70 = zero, c71 = zero;
                float* bt = b + col;
                for (int t = 0; t < depth; t++, bt += ldb)
                {
                    TV b0 = TOps.Load(bt), b1 = TOps.Load(bt + n);
                    TV x0 = TOps.Create(a0[t]);
                    c00 = TOps.Fma(x0, b0, c00);
                    c01 = TOps.Fma(x0, b1, c01);
                    TV x1 = TOps.Create(a1[t]);
                    c10 = TOps.Fma(x1, b0, c10);
                    c11 = TOps.Fma(x1, b1, c11);
                    TV x2 = TOps.Create(a2[t]);
                    c20 = TOps.Fma(x2, b0, c20);
                    c21 = TOps.Fma(x2, b1, c21);
                    TV x3 = TOps.Create(a3[t]);
                    c30 = TOps.Fma(x3, b0, c30);
                    c31 = TOps.Fma(x3, b1, c31);
                    TV x4 = TOps.Create(a4[t]);
                    c40 = TOps.Fma(x4, b0, c40);
                    c41 = TOps.Fma(x4, b1, c41);
                    TV x5 = TOps.Create(a5[t]);
                    c50 = TOps.Fma(x5, b0, c50);
                    c51 = TOps.Fma(x5, b1, c51);
                    if (TRows.Count == 8)
                    {
                        TV x6 = TOps.Create(a6[t]);
                        c60 = TOps.Fma(x6, b0, c60);
                        c61 = TOps.Fma(x6, b1, c61);
                        TV x7 = TOps.Create(a7[t]);
                        c70 = TOps.Fma(x7, b0, c70);
                        c71 = TOps.Fma(x7, b1, c71);
                    }
                }

                float* d = c + col;
                Put<TV, TOps>(d, 0, c00, c01);
                Put<TV, TOps>(d, 1, c10, c11);
                Put<TV, TOps>(d, 2, c20, c21);
                Put<TV, TOps>(d, 3, c30, c31);
                Put<TV, TOps>(d, 4, c40, c41);
                Put<TV, TOps>(d, 5, c50, c51);
                if (TRows.Count == 8)
                {
                    Put<TV, TOps>(d, 6, c60, c61);
                    Put<TV, TOps>(d, 7, c70, c71);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put<TV, TOps>(float* d, int row, TV first, TV last)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            if (row >= valid)
            {
                return;
            }

            d += (nint)row * ldb;
            TOps.Store(overwrite ? first : TOps.Add(TOps.Load(d), first), d);
            TOps.Store(overwrite ? last : TOps.Add(TOps.Load(d + TOps.Count), last), d + TOps.Count);
        }
    }
}
