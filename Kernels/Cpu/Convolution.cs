using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// 2-D convolution of a whole batch as implicit GEMM on the SGEMM micro-kernel: the unfolded input (im2col) is
/// never written out whole. The weights are packed once per call; each thread pads one image at a time into a
/// cache-resident buffer and packs the GEMM panels straight from it.
/// </summary>
/// <remarks>
/// <para>Forward: y_i [O, OH·OW] = W [O, C·KH·KW] · X̂_i [C·KH·KW, OH·OW] for every image i, split across the cores by
/// (image, 32-position panel). Input gradient (stride 1): the transposed convolution is itself a forward convolution
/// of dY with the flipped, channel-swapped kernel, so it runs on the same path with no col2im and no sum across
/// threads; strided convolutions keep the per-image GEMM and col2im. Weight gradient: one GEMM
/// dW [O, C·KH·KW] = Σ_i dY_i · X̂_iᵀ whose depth runs over every image's positions, split across the cores by
/// columns (or rows) of dW.</para>
/// <para>Determinism: every output element is one FMA chain per depth block of <see cref="Sgemm.KC"/> taps (per image
/// and block of positions for the weight gradient), the blocks added in a fixed order; which thread computes an
/// element never changes how. The forward pass and (where dW has at least 64 register tiles) the weight
/// gradient compute exactly the bits of one <see cref="Im2Col"/> + <see cref="Sgemm"/> call per image. A smaller
/// weight gradient is summed in a fixed number of image chunks (set by the shape, not the thread count), added in
/// order.</para>
/// </remarks>
public static unsafe partial class Convolution
{
    private const int MR = Sgemm.MR;
    private const int NR = Sgemm.NR;
    private const int KC = Sgemm.KC;
    private const int NC = Sgemm.NC;

    [ThreadStatic]
    private static float[]? scratchStore;

    /// <summary>y [N,O,OH,OW] = x [N,C,H,W] ⋆ w [O,C,KH,KW] (cross-correlation, zero padding).</summary>
    /// <exception cref="ArgumentException">A size is not positive, or a span is shorter than its shape.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvShape s, Span<float> y) =>
        Forward(x, w, [], s, y);

    /// <summary>
    /// y [N,O,OH,OW] = x [N,C,H,W] ⋆ w [O,C,KH,KW] + bias [O] (none when <paramref name="bias"/> is empty), then
    /// max(y, 0) with <paramref name="relu"/>. The bias and the ReLU are applied to each finished product while it is
    /// still in cache: the same bits as a separate addition and a separate ReLU.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, or a span is shorter than its shape.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ConvShape s, Span<float> y, bool relu = false)
    {
        s.Check("conv", x.Length, w.Length, y.Length, "y");
        if (!bias.IsEmpty && bias.Length != s.O)
        {
            throw new ArgumentException($"conv {s}: bias has {bias.Length} elements, expected {s.O}");
        }

        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            ForwardCore(px, pw, bias.IsEmpty ? null : pb, s, py, relu);
        }
    }

    /// <summary>dx [N,C,H,W] = the gradient of the forward convolution with respect to x, given dy [N,O,OH,OW] and w.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or a span is shorter than its shape.</exception>
    public static void InputGrad(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, ConvShape s, Span<float> dx)
    {
        s.Check("conv", dx.Length, w.Length, dy.Length, "dy");
        int taps = s.Taps;
        fixed (float* pdy = dy, pw = w, pdx = dx)
        {
            var transposed = new ConvShape(s.N, s.O, s.OH, s.OW, s.C, s.KH, s.KW, 1, 1, s.KH - 1 - s.PH, s.KW - 1 - s.PW);
            if (s.SH == 1 && s.SW == 1 && WinogradApplies(transposed))
            {
                // The transposed convolution by Winograd, its kernel flipped while it is transformed.
                WinogradForward(pdy, pw, null, transposed, pdx, Sgemm.SelectWidth(), relu: false, transposedWeights: true);
                return;
            }

            if (s.SH == 1 && s.SW == 1 && s.PH < s.KH && s.PW < s.KW)
            {
                // dx[c,y,x] = Σ_o,ky,kx w[o,c,ky,kx]·dy[o, y+PH−ky, x+PW−kx]: a stride-1 convolution of dy, padded by
                // KH−1−PH and KW−1−PW, with the kernel wt[c,o,ky',kx'] = w[o,c,KH−1−ky',KW−1−kx'].
                float[] flipped = ArrayPool<float>.Shared.Rent(s.O * taps);
                try
                {
                    int kk = s.KH * s.KW;
                    for (int o = 0; o < s.O; o++)
                    {
                        for (int c = 0; c < s.C; c++)
                        {
                            float* src = pw + ((((nint)o * s.C) + c) * kk);
                            int dst = ((c * s.O) + o) * kk;
                            for (int t = 0; t < kk; t++)
                            {
                                flipped[dst + kk - 1 - t] = src[t];
                            }
                        }
                    }

                    fixed (float* pt = flipped)
                    {
                        ForwardCore(pdy, pt, null, transposed, pdx);
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(flipped);
                }

                return;
            }

            // Strided: cols = Wᵀ · dy_i, folded back onto each image by col2im; images are split across the cores,
            // each image's GEMM and col2im running on one thread.
            dx[..(s.N * s.C * s.H * s.W)].Clear();
            KernelWorkers.RunRanges(new StridedInputGradWork(pdy, pw, pdx, s), s.N, FineParts(s));
        }
    }

    /// <summary>The input gradient of a strided convolution over a range of images: one GEMM and one col2im each.</summary>
    private readonly struct StridedInputGradWork(float* dy, float* w, float* dx, ConvShape s) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int taps = s.Taps, positions = s.Positions, chw = s.C * s.H * s.W, outSize = s.O * positions;
            var cols = new Span<float>(Scratch(taps * positions), taps * positions);
            var weights = new ReadOnlySpan<float>(w, s.O * taps);
            for (int i = start; i < end; i++)
            {
                Sgemm.Multiply(true, false, taps, positions, s.O, weights, taps, new ReadOnlySpan<float>(dy + ((nint)i * outSize), outSize), positions, cols, positions, accumulate: false);
                Im2Col.Backward(cols, s.C, s.H, s.W, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, new Span<float>(dx + ((nint)i * chw), chw));
            }
        }
    }

    /// <summary>dw [O,C,KH,KW] = the gradient of the forward convolution with respect to w, given x and dy, summed over the batch.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or a span is shorter than its shape.</exception>
    public static void WeightGrad(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ConvShape s, Span<float> dw)
    {
        s.Check("conv", x.Length, dw.Length, dy.Length, "dy");
        if (s.N == 0)
        {
            dw[..(s.O * s.Taps)].Clear();
            return;
        }

        // Splits by rows or columns of dW repeat the packing of the other operand in every part, so they take one
        // part per thread; image chunks share nothing and are claimed as threads free up.
        int mTiles = (s.O + MR - 1) / MR, nPanels = (s.Taps + NR - 1) / NR, chunks = WeightGradChunks(s);
        int parts = Math.Min(Parts(s), KernelWorkers.MaxParts);
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            if (WinogradWeightGradApplies(s))
            {
                WinogradWeightGrad(px, pdy, s, pdw, Sgemm.SelectWidth());
                return;
            }

            if (DirectWeightGradApplies(s))
            {
                DirectWeightGrad(px, pdy, s, pdw, Sgemm.SelectWidth());
                return;
            }

            if (chunks == 1 && s.O >= NR && s.O <= NC)
            {
                // dWᵀ [taps, O] = X̂ · dYᵀ: the unfolded image is packed as the MR-row operand straight from the padded
                // image (one transposing pass), dY as the NR-column one; the result is transposed into dW at the end.
                int taps = s.Taps, tapTiles = (taps + MR - 1) / MR;
                float[] transposed = ArrayPool<float>.Shared.Rent(taps * s.O);
                int[] offsets = TapOffsets(s);
                try
                {
                    fixed (float* pt = transposed)
                    fixed (int* po = offsets)
                    {
                        var work = new WeightGradWork(px, pdy, pdw, s, Sgemm.SelectWidth(), WeightGradSplit.TapRows, 1) { Transposed = pt, TapOffsets = po };
                        KernelWorkers.RunRanges(work, tapTiles, parts);
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(transposed);
                    ArrayPool<int>.Shared.Return(offsets);
                }

                return;
            }

            if (chunks == 1)
            {
                bool byColumns = nPanels >= mTiles || mTiles < parts;
                var work = new WeightGradWork(px, pdy, pdw, s, Sgemm.SelectWidth(), byColumns ? WeightGradSplit.Columns : WeightGradSplit.Rows, 1);
                KernelWorkers.RunRanges(work, byColumns ? nPanels : mTiles, parts);
                return;
            }

            // A small dW (few register tiles) is split by images instead: each chunk of images sums into its own
            // copy, and the copies are added in chunk order. The chunks depend on the shape alone.
            int size = s.O * s.Taps;
            float[] partial = ArrayPool<float>.Shared.Rent(chunks * size);
            try
            {
                fixed (float* pp = partial)
                {
                    var work = new WeightGradWork(px, pdy, pp, s, Sgemm.SelectWidth(), WeightGradSplit.Images, chunks);
                    KernelWorkers.RunRanges(work, chunks, Parts(s));
                    new ReadOnlySpan<float>(pp, size).CopyTo(dw);
                    for (int c = 1; c < chunks; c++)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(dw[..size], new ReadOnlySpan<float>(pp + ((nint)c * size), size), dw[..size]);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(partial);
            }
        }
    }

    /// <summary>
    /// Whether the weight gradient sums image by image in order, each image's positions in blocks of KC (the order of
    /// one im2col + SGEMM per image): true unless the layer takes Winograd or has 16 output channels (the direct path), dW is small (chunks
    /// of images) or an image has fewer than NR positions (blocks that run across images).
    /// </summary>
    internal static bool WeightGradSumsImageByImage(ConvShape s) => !WinogradWeightGradApplies(s) && !DirectWeightGradApplies(s) && WeightGradChunks(s) == 1 && s.Positions >= NR;

    /// <summary>
    /// Chunks of images the weight gradient is split into: 1 (the whole batch summed in image order, split across
    /// the cores by tiles of dW) when dW has at least 64 register tiles, else up to 8, fixed by the shape alone.
    /// </summary>
    internal static int WeightGradChunks(ConvShape s)
    {
        long tiles = (long)((s.O + MR - 1) / MR) * ((s.Taps + NR - 1) / NR);
        return tiles >= 64 ? 1 : Math.Max(1, Math.Min(s.N, 8));
    }

    private static void ForwardCore(float* x, float* w, float* bias, ConvShape s, float* y, bool relu = false)
    {
        if (s.N == 0)
        {
            return;
        }

        if (WinogradApplies(s))
        {
            WinogradForward(x, w, bias, s, y, Sgemm.SelectWidth(), relu);
            return;
        }

        if (DirectForwardApplies(s, Sgemm.SelectWidth()))
        {
            DirectForward(x, w, bias, s, y, Sgemm.SelectWidth(), relu);
            return;
        }

        int taps = s.Taps, oPad = RoundUp(s.O, MR);

        // Every depth block of the weights packed once, in the layout the micro-kernel reads; the packing's
        // overlapping stores spill a few floats past the last block.
        float[] packed = ArrayPool<float>.Shared.Rent((oPad * taps) + 16);
        try
        {
            fixed (float* pw = packed)
            {
                for (int pc = 0; pc < taps; pc += KC)
                {
                    Sgemm.PackA(w, taps, false, 0, s.O, pc, Math.Min(KC, taps - pc), pw + ((nint)oPad * pc));
                }

                if (s.Positions < NR)
                {
                    // Fewer output positions per image than a panel holds (the late layers of VGG): panels run across
                    // images, so no columns are wasted.
                    var across = new ForwardAcrossImagesWork(x, pw, bias, y, s, Sgemm.SelectWidth(), relu);
                    KernelWorkers.RunRanges(across, (int)(((long)s.N * s.Positions + NR - 1) / NR), Parts(s));
                    return;
                }

                int panels = (s.Positions + NR - 1) / NR;
                int[] offsets = TapOffsets(s);
                try
                {
                    fixed (int* po = offsets)
                    {
                        var work = new ForwardWork(x, pw, bias, y, po, s, Sgemm.SelectWidth(), panels, relu);
                        KernelWorkers.RunRanges(work, s.N * panels, FineParts(s));
                    }
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(offsets);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>Where each row of the unfolded input starts in a padded image (channel plane, kernel row and column); pooled.</summary>
    private static int[] TapOffsets(ConvShape s)
    {
        int[] offsets = ArrayPool<int>.Shared.Rent(s.Taps);
        int wp = s.W + (2 * s.PW), planeSize = (s.H + (2 * s.PH)) * wp;
        for (int t = 0, ch = 0, ky = 0, kx = 0; t < s.Taps; t++, NextTap(s, ref ch, ref ky, ref kx))
        {
            offsets[t] = (ch * planeSize) + (ky * wp) + kx;
        }

        return offsets;
    }

    private static int Parts(ConvShape s)
    {
        int parts = s.MultiplyAdds < Sgemm.ParallelThreshold ? 1 : KernelWorkers.BalancedParts;
        return Sgemm.ThreadLimit > 0 ? Math.Min(parts, Sgemm.ThreadLimit) : parts;
    }

    /// <summary>Parts for a job of many small independent pieces: <see cref="KernelWorkers.FineParts"/> unless the layer is small or threads are limited.</summary>
    private static int FineParts(ConvShape s)
    {
        int parts = s.MultiplyAdds < Sgemm.ParallelThreshold ? 1 : KernelWorkers.FineParts;
        return Sgemm.ThreadLimit > 0 ? Math.Min(parts, Sgemm.ThreadLimit) : parts;
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>This thread's scratch of at least <paramref name="floats"/> floats, pinned and 64-byte aligned.</summary>
    private static float* Scratch(int floats)
    {
        var store = scratchStore;
        if (store is null || store.Length < floats + 16)
        {
            store = scratchStore = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
        }

        float* p = (float*)Unsafe.AsPointer(ref store[0]);
        return (float*)(((nint)p + 63) & ~(nint)63);
    }

    /// <summary>Floats of one zero-padded image, rounded to a cache line.</summary>
    private static int PaddedLength(ConvShape s) =>
        s.PH == 0 && s.PW == 0 ? 0 : RoundUp(s.C * (s.H + (2 * s.PH)) * (s.W + (2 * s.PW)), 16);

    /// <summary>Image <paramref name="image"/> with its zero border, in <paramref name="buffer"/> unless there is no padding.</summary>
    private static float* Padded(float* image, ConvShape s, float* buffer)
    {
        if (s.PH == 0 && s.PW == 0)
        {
            return image;
        }

        int wp = s.W + (2 * s.PW);
        float* dst = buffer;
        for (int c = 0; c < s.C; c++)
        {
            new Span<float>(dst, s.PH * wp).Clear();
            dst += s.PH * wp;
            for (int r = 0; r < s.H; r++)
            {
                for (int t = 0; t < s.PW; t++)
                {
                    dst[t] = 0;
                    dst[s.PW + s.W + t] = 0;
                }

                Copy(image, dst + s.PW, s.W);
                image += s.W;
                dst += wp;
            }

            new Span<float>(dst, s.PH * wp).Clear();
            dst += s.PH * wp;
        }

        return buffer;
    }

    /// <summary>
    /// Writes <paramref name="count"/> values of the unfolded row for kernel tap (ky, kx) of one channel plane
    /// (zero-padded, row stride <paramref name="wp"/>), for output positions pos … pos+count−1.
    /// </summary>
    private static void GatherRow(float* plane, ConvShape s, int wp, int ky, int kx, int pos, int count, float* dst)
    {
        int ow = s.OW, oy = pos / ow, ox = pos - (oy * ow);
        while (count > 0)
        {
            int run = Math.Min(ow - ox, count);
            float* src = plane + ((nint)((oy * s.SH) + ky) * wp) + (ox * s.SW) + kx;
            if (s.SW == 1)
            {
                Copy(src, dst, run);
            }
            else
            {
                for (int t = 0; t < run; t++)
                {
                    dst[t] = src[t * s.SW];
                }
            }

            dst += run;
            count -= run;
            ox = 0;
            oy++;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int count)
    {
        int t = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; t <= count - 8; t += 8)
            {
                Vector256.Store(Vector256.Load(src + t), dst + t);
            }
        }
        else
        {
            for (; t <= count - 4; t += 4)
            {
                Vector128.Store(Vector128.Load(src + t), dst + t);
            }
        }

        for (; t < count; t++)
        {
            dst[t] = src[t];
        }
    }

    /// <summary>dst[t] = src[2t] for t &lt; count (a stride-2 window row); reads never go past src[2·count − 2].</summary>
    private static void CopyEven(float* src, float* dst, int count)
    {
        int t = 0;
        if (Avx2.IsSupported)
        {
            var evens = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);

            // Each group reads 16 floats from src + 2t; stopping one group early keeps the last read in bounds.
            for (; t + 8 < count; t += 8)
            {
                var low = Avx2.PermuteVar8x32(Avx.LoadVector256(src + (2 * t)), evens);
                var high = Avx2.PermuteVar8x32(Avx.LoadVector256(src + (2 * t) + 8), evens);
                Avx.Store(dst + t, Avx.Permute2x128(low, high, 0x20));
            }
        }

        for (; t < count; t++)
        {
            dst[t] = src[2 * t];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy32(float* src, float* dst)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512.Store(Vector512.Load(src), dst);
            Vector512.Store(Vector512.Load(src + 16), dst + 16);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256.Store(Vector256.Load(src), dst);
            Vector256.Store(Vector256.Load(src + 8), dst + 8);
            Vector256.Store(Vector256.Load(src + 16), dst + 16);
            Vector256.Store(Vector256.Load(src + 24), dst + 24);
        }
        else
        {
            Copy(src, dst, 32);
        }
    }

    /// <summary>
    /// The forward product's epilogue on count outputs of channel o: adds bias[o] (when there is a bias), then takes
    /// max(·, 0) (with relu, as <see cref="Math.Max(float, float)"/>: NaN stays NaN, −0 gives +0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(float* row, float* bias, int o, int count, bool relu)
    {
        bool add = bias != null;
        float value = add ? bias[o] : 0f;
        int t = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var v = Vector256.Create(value);
            for (; t <= count - 8; t += 8)
            {
                var y = Vector256.Load(row + t);
                y = add ? y + v : y;
                Vector256.Store(relu ? Vector256.Max(y, Vector256<float>.Zero) : y, row + t);
            }
        }

        for (; t < count; t++)
        {
            float y = add ? row[t] + value : row[t];
            row[t] = relu ? Math.Max(y, 0f) : y;
        }
    }

    /// <summary>
    /// Output positions [ps, ps+count) of one image as runs within output rows: (offset of the run's first window in a
    /// padded plane, index of its first position from ps, length). Returns the number of runs.
    /// </summary>
    private static int PositionRuns(ConvShape s, int ps, int count, int wp, int* runs)
    {
        int n = 0;
        for (int pos = ps, q = 0; q < count; n++)
        {
            int oy = pos / s.OW, ox = pos - (oy * s.OW), run = Math.Min(s.OW - ox, count - q);
            runs[3 * n] = (oy * s.SH * wp) + (ox * s.SW);
            runs[(3 * n) + 1] = q;
            runs[(3 * n) + 2] = run;
            pos += run;
            q += run;
        }

        return n;
    }

    /// <summary>
    /// For <paramref name="count"/> consecutive (image, output position) columns from <paramref name="first"/>: each
    /// column's first input element, the top-left input row and column of its window, and its offset in an output
    /// [N,O,OH,OW] at channel 0.
    /// </summary>
    private static void ColumnWindows(ConvShape s, long first, int count, int* image, int* top, int* left, int* output)
    {
        int positions = s.Positions;
        for (int q = 0; q < count; q++)
        {
            int i = (int)((first + q) / positions), pos = (int)(first + q - ((long)i * positions));
            int oy = pos / s.OW, ox = pos - (oy * s.OW);
            image[q] = i * s.C * s.H * s.W;
            top[q] = (oy * s.SH) - s.PH;
            left[q] = (ox * s.SW) - s.PW;
            output[q] = (i * s.O * positions) + pos;
        }
    }

    /// <summary>Advances (channel, ky, kx) to the next row of the unfolded input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NextTap(ConvShape s, ref int ch, ref int ky, ref int kx)
    {
        if (++kx == s.KW)
        {
            kx = 0;
            if (++ky == s.KH)
            {
                ky = 0;
                ch++;
            }
        }
    }

    /// <summary>
    /// The forward product over panels of NR consecutive (image, position) columns, for layers with fewer than NR
    /// output positions per image: each panel is gathered from the unpadded images with bounds checks, computed into a
    /// scratch tile and scattered to its images. Every element is the same FMA chain as on the per-image path.
    /// </summary>
    private readonly struct ForwardAcrossImagesWork(float* x, float* packedW, float* bias, float* y, ConvShape s, int width, bool relu) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int taps = s.Taps, positions = s.Positions, oPad = RoundUp(s.O, MR), hw = s.H * s.W, kk = s.KH * s.KW;
            long columns = (long)s.N * positions;
            float* buffer = Scratch((KC * NR) + (oPad * NR));
            float* panel = buffer, tile = buffer + (KC * NR);

            // Per column: its image's first input element, top-left input row and column of its window, output index.
            int* image = stackalloc int[NR];
            int* top = stackalloc int[NR];
            int* left = stackalloc int[NR];
            int* output = stackalloc int[NR];
            for (int u = start; u < end; u++)
            {
                long g0 = (long)u * NR;
                int cols = (int)Math.Min(NR, columns - g0);
                ColumnWindows(s, g0, cols, image, top, left, output);

                for (int pc = 0; pc < taps; pc += KC)
                {
                    int kc = Math.Min(KC, taps - pc);
                    for (int p = 0; p < kc; p++)
                    {
                        int t = pc + p, ch = t / kk, ky = t / s.KW % s.KH, kx = t % s.KW;
                        float* row = panel + (p * NR);
                        for (int q = 0; q < NR; q++)
                        {
                            int iy = top[q] + ky, ix = left[q] + kx;
                            row[q] = q < cols && (uint)iy < (uint)s.H && (uint)ix < (uint)s.W ? x[image[q] + (ch * hw) + (iy * s.W) + ix] : 0f;
                        }
                    }

                    Sgemm.MacroKernel(packedW + ((nint)oPad * pc), panel, s.O, cols, kc, tile, NR, pc == 0, width);
                }

                for (int o = 0; o < s.O; o++)
                {
                    float b = bias != null ? bias[o] : 0f;
                    float* src = tile + (o * NR);
                    for (int q = 0; q < cols; q++)
                    {
                        float v = bias != null ? src[q] + b : src[q];
                        y[output[q] + (o * positions)] = relu ? Math.Max(v, 0f) : v;
                    }
                }
            }
        }
    }

    /// <summary>The forward product over units (image, panel of NR output positions).</summary>
    private readonly struct ForwardWork(float* x, float* packedW, float* bias, float* y, int* tapOffsets, ConvShape s, int width, int panels, bool relu) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int taps = s.Taps, positions = s.Positions, oPad = RoundUp(s.O, MR);
            int wp = s.W + (2 * s.PW), padLength = PaddedLength(s);
            float* buffer = Scratch(padLength + (KC * NR));
            float* panel = buffer + padLength;
            float* image = null;
            int current = -1;

            // The panel's output positions as runs within output rows: source offset, panel column, length.
            int* runs = stackalloc int[3 * NR];
            for (int u = start; u < end; u++)
            {
                int i = u / panels, j0 = (u - (i * panels)) * NR, cols = Math.Min(NR, positions - j0);
                if (i != current)
                {
                    image = Padded(x + ((nint)i * s.C * s.H * s.W), s, buffer);
                    current = i;
                }

                int runCount = PositionRuns(s, j0, cols, wp, runs);

                float* c = y + ((nint)i * s.O * positions) + j0;
                for (int pc = 0; pc < taps; pc += KC)
                {
                    int kc = Math.Min(KC, taps - pc);
                    PackPanel(image, tapOffsets + pc, kc, runs, runCount, cols, panel);
                    Sgemm.MacroKernel(packedW + ((nint)oPad * pc), panel, s.O, cols, kc, c, positions, pc == 0, width);
                }

                if (bias != null || relu)
                {
                    for (int o = 0; o < s.O; o++)
                    {
                        Finish(c + ((nint)o * positions), bias, o, cols, relu);
                    }
                }
            }
        }

        /// <summary>kc rows of the unfolded image (taps at the given offsets) × the panel's positions, NR floats a row.</summary>
        private void PackPanel(float* image, int* tapOffsets, int kc, int* runs, int runCount, int cols, float* panel)
        {
            if (runCount == 1 && cols == NR && s.SW == 1)
            {
                // A whole panel inside one output row of a stride-1 layer: each row is one contiguous copy.
                float* src = image + runs[0];
                for (int p = 0; p < kc; p++)
                {
                    Copy32(src + tapOffsets[p], panel + (p * NR));
                }

                return;
            }

            for (int p = 0; p < kc; p++)
            {
                float* src = image + tapOffsets[p], row = panel + (p * NR);
                for (int r = 0; r < runCount; r++)
                {
                    float* from = src + runs[3 * r];
                    float* to = row + runs[(3 * r) + 1];
                    int run = runs[(3 * r) + 2];
                    if (s.SW == 1)
                    {
                        Copy(from, to, run);
                    }
                    else if (s.SW == 2)
                    {
                        CopyEven(from, to, run);
                    }
                    else
                    {
                        for (int t = 0; t < run; t++)
                        {
                            to[t] = from[t * s.SW];
                        }
                    }
                }

                for (int q = cols; q < NR; q++)
                {
                    row[q] = 0;
                }
            }
        }
    }

    /// <summary>The weight gradient over a range of NR-column panels (or MR-row tiles) of dW.</summary>
    private enum WeightGradSplit
    {
        Columns,
        Rows,
        Images,
        TapRows,
    }

    /// <summary>The weight gradient over a range of NR-column panels or MR-row tiles of dW, or of chunks of images.</summary>
    private readonly struct WeightGradWork(float* x, float* dy, float* dw, ConvShape s, int width, WeightGradSplit split, int chunks) : IRangeWork
    {
        /// <summary>dWᵀ [taps, O], for <see cref="WeightGradSplit.TapRows"/>.</summary>
        public float* Transposed { get; init; }

        /// <summary>Start of each unfolded row in a padded image, for <see cref="WeightGradSplit.TapRows"/>.</summary>
        public int* TapOffsets { get; init; }

        public void Run(int start, int end)
        {
            int taps = s.Taps;
            switch (split)
            {
                case WeightGradSplit.TapRows:
                    SumTransposed(start * MR, Math.Min(taps, end * MR));
                    break;
                case WeightGradSplit.Columns:
                    Sum(0, s.O, start * NR, Math.Min(taps, end * NR), 0, s.N, dw);
                    break;
                case WeightGradSplit.Rows:
                    Sum(start * MR, Math.Min(s.O, end * MR), 0, taps, 0, s.N, dw);
                    break;
                default:
                    for (int c = start; c < end; c++)
                    {
                        Sum(0, s.O, 0, taps, (int)((long)s.N * c / chunks), (int)((long)s.N * (c + 1) / chunks), dw + ((nint)c * s.O * taps));
                    }

                    break;
            }
        }

        /// <summary>Rows [t0,t1) of dWᵀ summed over the batch, then written transposed into dW.</summary>
        private void SumTransposed(int t0, int t1)
        {
            if (s.Positions < NR)
            {
                SumTransposedAcrossImages(t0, t1);
                return;
            }

            int positions = s.Positions, mc = t1 - t0, o = s.O;
            int wp = s.W + (2 * s.PW), padLength = PaddedLength(s);
            int aLength = RoundUp((RoundUp(mc, MR) * KC) + 16, 16), bLength = RoundUp(o, NR) * KC;
            float* buffer = Scratch(padLength + aLength + bLength + (3 * KC));
            float* ap = buffer + padLength, bp = ap + aLength;
            int* runs = (int*)(bp + bLength);
            float* target = Transposed + ((nint)t0 * o);
            bool first = true;
            for (int i = 0; i < s.N; i++)
            {
                float* image = Padded(x + ((nint)i * s.C * s.H * s.W), s, buffer);
                for (int ps = 0; ps < positions; ps += KC)
                {
                    int kc = Math.Min(KC, positions - ps);
                    int runCount = PositionRuns(s, ps, kc, wp, runs);
                    PackTapRows(image, TapOffsets + t0, mc, kc, runs, runCount, ap);
                    Sgemm.PackB(dy + ((nint)i * o * positions), positions, true, ps, kc, 0, o, bp);
                    Sgemm.MacroKernel(ap, bp, mc, o, kc, target, o, first, width);
                    first = false;
                }
            }

            WriteTransposed(t0, t1);
        }

        /// <summary>dW [o, t] = dWᵀ [t, o] for taps [t0, t1).</summary>
        private void WriteTransposed(int t0, int t1)
        {
            int taps = s.Taps, o = s.O;
            for (int t = t0; t < t1; t++)
            {
                float* row = Transposed + ((nint)t * o);
                for (int j = 0; j < o; j++)
                {
                    dw[((nint)j * taps) + t] = row[j];
                }
            }
        }

        /// <summary>
        /// <see cref="SumTransposed"/> for layers with fewer than NR output positions per image (the late layers of VGG):
        /// the depth runs over (image, position) pairs in blocks of KC that cross images, gathered from the unpadded
        /// input and dY with bounds checks, so a block is not cut short at each image's few positions.
        /// </summary>
        private void SumTransposedAcrossImages(int t0, int t1)
        {
            int positions = s.Positions, mc = t1 - t0, o = s.O, hw = s.H * s.W, kk = s.KH * s.KW;
            long columns = (long)s.N * positions;
            int aLength = RoundUp((RoundUp(mc, MR) * KC) + 16, 16), bLength = RoundUp(o, NR) * KC;
            float* buffer = Scratch(aLength + bLength + (4 * KC));
            float* ap = buffer, bp = ap + aLength;
            int* image = (int*)(bp + bLength), top = image + KC, left = top + KC, gradient = left + KC;
            float* target = Transposed + ((nint)t0 * o);
            for (long g0 = 0; g0 < columns; g0 += KC)
            {
                int kc = (int)Math.Min(KC, columns - g0);
                ColumnWindows(s, g0, kc, image, top, left, gradient);

                for (int g = 0; g < mc; g += MR)
                {
                    float* panel = ap + ((nint)g * kc);
                    for (int r = 0; r < MR; r++)
                    {
                        int t = t0 + g + r;
                        bool tap = g + r < mc;
                        int ch = t / kk, ky = t / s.KW % s.KH, kx = t % s.KW;
                        for (int p = 0; p < kc; p++)
                        {
                            int iy = top[p] + ky, ix = left[p] + kx;
                            panel[(p * MR) + r] = tap && (uint)iy < (uint)s.H && (uint)ix < (uint)s.W ? x[image[p] + (ch * hw) + (iy * s.W) + ix] : 0f;
                        }
                    }
                }

                for (int jr = 0; jr < o; jr += NR)
                {
                    float* panel = bp + ((nint)jr * kc);
                    int cols = Math.Min(NR, o - jr);
                    for (int p = 0; p < kc; p++)
                    {
                        float* row = panel + (p * NR);
                        float* src = dy + gradient[p] + ((nint)jr * positions);
                        for (int j = 0; j < NR; j++)
                        {
                            row[j] = j < cols ? src[(nint)j * positions] : 0f;
                        }
                    }
                }

                Sgemm.MacroKernel(ap, bp, mc, o, kc, target, o, g0 == 0, width);
            }

            WriteTransposed(t0, t1);
        }

        /// <summary>
        /// Packs unfolded rows (taps at <paramref name="offsets"/>) × the runs' positions into MR-row panels of depth kc,
        /// six taps transposed eight positions at a time; each 8-float store spills into the next slot, which the
        /// next store (or panel) overwrites.
        /// </summary>
        private void PackTapRows(float* image, int* offsets, int mc, int kc, int* runs, int runCount, float* dst)
        {
            for (int g = 0; g < mc; g += MR)
            {
                int rows = Math.Min(MR, mc - g);
                float* panel = dst + ((nint)g * kc);
                int* off = offsets + g;
                bool vector = rows == MR && s.SW == 1 && Avx.IsSupported;
                for (int r = 0; r < runCount; r++)
                {
                    int src = runs[3 * r], p0 = runs[(3 * r) + 1], len = runs[(3 * r) + 2], q = 0;
                    if (vector)
                    {
                        float* s0 = image + off[0] + src, s1 = image + off[1] + src, s2 = image + off[2] + src;
                        float* s3 = image + off[3] + src, s4 = image + off[4] + src, s5 = image + off[5] + src;
                        for (; q + 8 <= len; q += 8)
                        {
                            Sgemm.Transpose8x8Store(
                                Avx.LoadVector256(s0 + q), Avx.LoadVector256(s1 + q), Avx.LoadVector256(s2 + q), Avx.LoadVector256(s3 + q),
                                Avx.LoadVector256(s4 + q), Avx.LoadVector256(s5 + q), Avx.LoadVector256(s5 + q), Avx.LoadVector256(s5 + q),
                                panel + ((p0 + q) * MR), MR);
                        }
                    }

                    for (; q < len; q++)
                    {
                        float* slot = panel + ((p0 + q) * MR);
                        int at = src + (q * s.SW);
                        for (int t = 0; t < MR; t++)
                        {
                            slot[t] = t < rows ? image[off[t] + at] : 0f;
                        }
                    }
                }
            }
        }

        /// <summary>Rows [i0,i1) × columns [j0,j1) of dW (row stride taps) summed over images [n0,n1) into target.</summary>
        private void Sum(int i0, int i1, int j0, int j1, int n0, int n1, float* target)
        {
            int taps = s.Taps, positions = s.Positions;
            int mc = i1 - i0, wp = s.W + (2 * s.PW), planeSize = (s.H + (2 * s.PH)) * wp, padLength = PaddedLength(s);
            int aLength = RoundUp((RoundUp(mc, MR) * KC) + 16, 16);
            float* buffer = Scratch(padLength + aLength + (KC * NC) + (NR * KC));
            float* ap = buffer + padLength, bp = ap + aLength, rows = bp + (KC * NC);
            for (int jc = j0; jc < j1; jc += NC)
            {
                int nc = Math.Min(NC, j1 - jc);
                bool first = true;
                for (int i = n0; i < n1; i++)
                {
                    float* image = Padded(x + ((nint)i * s.C * s.H * s.W), s, buffer);
                    for (int ps = 0; ps < positions; ps += KC)
                    {
                        int kc = Math.Min(KC, positions - ps);
                        Sgemm.PackA(dy + ((nint)i * s.O * positions), positions, false, i0, mc, ps, kc, ap);
                        PackTaps(image, planeSize, wp, jc, nc, ps, kc, rows, bp);
                        Sgemm.MacroKernel(ap, bp, mc, nc, kc, target + ((nint)i0 * taps) + jc, taps, first, width);
                        first = false;
                    }
                }
            }
        }

        /// <summary>
        /// Packs X̂ᵀ for positions [ps, ps+kc) × taps [jc, jc+nc) into NR-wide panels of depth kc: each group of NR
        /// taps is gathered as rows, then transposed 8×8 at a time.
        /// </summary>
        private void PackTaps(float* image, int planeSize, int wp, int jc, int nc, int ps, int kc, float* rows, float* dst)
        {
            int ch = jc / (s.KH * s.KW), ky = jc / s.KW % s.KH, kx = jc % s.KW;
            for (int jr = 0; jr < nc; jr += NR)
            {
                int cols = Math.Min(NR, nc - jr);
                float* panel = dst + ((nint)jr * kc);
                for (int j = 0; j < cols; j++)
                {
                    GatherRow(image + ((nint)ch * planeSize), s, wp, ky, kx, ps, kc, rows + (j * kc));
                    NextTap(s, ref ch, ref ky, ref kx);
                }

                int p8 = Avx.IsSupported ? kc & ~7 : 0, j8 = Avx.IsSupported ? cols & ~7 : 0;
                for (int j = 0; j < j8; j += 8)
                {
                    for (int p = 0; p < p8; p += 8)
                    {
                        Sgemm.Transpose8x8(rows + (j * kc) + p, kc, panel + (p * NR) + j, NR);
                    }
                }

                for (int p = 0; p < kc; p++)
                {
                    float* dstRow = panel + (p * NR);
                    int jStart = p < p8 ? j8 : 0;
                    for (int j = jStart; j < cols; j++)
                    {
                        dstRow[j] = rows[(j * kc) + p];
                    }

                    for (int j = cols; j < NR; j++)
                    {
                        dstRow[j] = 0;
                    }
                }
            }
        }
    }
}
