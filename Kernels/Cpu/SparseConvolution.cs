using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The kernels of a pruned stride-1 2-D convolution whose weight W [O, C, KH, KW] is kept in CSR form
/// (<see cref="SparseRows"/> with O rows and C·KH·KW columns, column c·KH·KW + ky·KW + kx): the forward pass, the
/// input gradient and the weight gradient at the kept taps only. Work scales with the kept weights, not with O·C·KH·KW.
/// </summary>
/// <remarks>
/// <para>Method: direct convolution vectorised over the output width, as in SparseProp (Nikdan et al., 2023). Each
/// thread copies one image at a time into a zero-bordered, cache-resident workspace, so every kept tap (c, ky, kx) is
/// a single pointer offset into it and the padding needs no edge cases. An output plane is cut into vectors along its
/// rows (the last one of a row overlapping the one before when the width is not a multiple of the vector), and
/// 8 vectors at a time accumulate in registers over the output channel's kept taps: one broadcast weight and one load
/// per fused multiply-add. The input gradient is the same kernel run on the output gradient with the transposed
/// structure (each input channel's taps flipped); the weight gradient is, for each kept tap, the dot product of an
/// output-gradient plane with the shifted input plane, eight taps of an output channel sharing each load of it.</para>
/// <para>Vector width: the widest accelerated one (Vector512, 256, 128, else scalar) that is no wider than the output
/// row, so an 8-pixel-wide layer runs on Vector256 even where Vector512 is available.</para>
/// <para>Bits: each output of <see cref="Forward"/> and <see cref="InputGrad(SparseRows, ReadOnlySpan{float}, ConvShape, Span{float})"/> is one FMA chain over its channel's
/// kept taps in entry order (plus the bias, added last), whatever the width, the thread count or the split, so it
/// equals a scalar FMA loop exactly. Each value of <see cref="WeightGrad(SparseRows, ReadOnlySpan{float}, ReadOnlySpan{float}, ConvShape, Span{float}, Span{float})"/> is summed in an order fixed by the shape
/// and the vector width (the batch in up to 8 chunks of images fixed by the batch size and the number of kept weights, the chunks added in order),
/// never by the number of threads; the bias gradient the weight gradient can sum beside it adds each image's plane sum
/// in image order. Results are therefore bit-identical run to run.</para>
/// <para>Workspaces: each thread keeps one zero-bordered image (and, for the weight gradient, one output-gradient
/// image) in a pinned buffer cached per thread, grown when a larger layer comes. Per call, the entry offsets (one int
/// per kept weight) and the weight gradient's partial sums (one vector per kept weight per chunk of images, at most
/// 32 MiB unless one chunk needs more) are rented from the shared array pools, with one float per image and output channel
/// when the bias gradient is summed too; no image-sized buffer is allocated per call.</para>
/// </remarks>
public static unsafe partial class SparseConvolution
{
    /// <summary>Vectors of output one tile accumulates in registers (8 of the 16 ymm or 32 zmm registers).</summary>
    private const int TileVectors = 8;

    [ThreadStatic]
    private static float[]? imageStore;

    [ThreadStatic]
    private static float[]? secondStore;

    /// <summary>
    /// Forces a SIMD width for tests of the fallback paths: 0 = widest available, otherwise 16, 8, 4 or 1 floats.
    /// Never set outside tests.
    /// </summary>
    internal static int ForcedWidth { get; set; }

    /// <summary>Whether these kernels handle <paramref name="s"/>: a valid shape with stride 1 in both directions (any kernel size and padding).</summary>
    /// <param name="s">The convolution's shape.</param>
    /// <returns>True when <see cref="Forward"/>, <see cref="InputGrad(SparseRows, ReadOnlySpan{float}, ConvShape, Span{float})"/> and <see cref="WeightGrad(SparseRows, ReadOnlySpan{float}, ReadOnlySpan{float}, ConvShape, Span{float}, Span{float})"/> accept the shape.</returns>
    public static bool Supports(ConvShape s) =>
        s.SH == 1 && s.SW == 1 && s.N >= 0 && s.C >= 1 && s.H >= 1 && s.W >= 1 && s.O >= 1 && s.KH >= 1 && s.KW >= 1
        && s.PH >= 0 && s.PW >= 0 && s.H + (2 * s.PH) >= s.KH && s.W + (2 * s.PW) >= s.KW;

    /// <summary>
    /// y [N,O,OH,OW] = x [N,C,H,W] ⋆ W + bias [O] (no bias when <paramref name="bias"/> is empty), then max(y, 0) with
    /// <paramref name="relu"/>: <see cref="Convolution.Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ConvShape, Span{float}, bool)"/>
    /// on the masked dense weight, computed from the kept weights only.
    /// </summary>
    /// <param name="weight">W in CSR form, [O, C·KH·KW], with current values.</param>
    /// <param name="x">The input [N,C,H,W].</param>
    /// <param name="bias">Empty, or the bias [O], added after the sum.</param>
    /// <param name="s">The shape; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="y">The output [N,O,OH,OW], overwritten; must not overlap <paramref name="x"/>.</param>
    /// <param name="relu">Whether to apply max(·, 0) to the result.</param>
    /// <exception cref="ArgumentException">The shape is not supported, the weight does not match it, a span is too short, or the spans overlap.</exception>
    public static void Forward(SparseRows weight, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, ConvShape s, Span<float> y, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CheckShape("sparse conv forward", s, x.Length, y.Length, "y");
        CheckWeight("sparse conv forward", "weight", weight, s.O, s.Taps, s);
        if (!bias.IsEmpty && bias.Length != s.O)
        {
            throw new ArgumentException($"sparse conv forward {s}: bias has {bias.Length} elements, expected {s.O} (or none)");
        }

        y = y[..(s.N * s.O * s.Positions)];
        if (y.Overlaps(x[..(s.N * s.C * s.H * s.W)]))
        {
            throw new ArgumentException($"sparse conv forward {s}: y overlaps x");
        }

        if (s.N == 0)
        {
            return;
        }

        var geometry = new Geometry(s.C, s.H, s.W, s.PH, s.PW, s.O, s.OH, s.OW, s.KH, s.KW, SelectWidth(s.OW));
        int[] offsets = ForwardOffsets(weight, s, geometry.PaddedRow, geometry.PaddedPlane);
        try
        {
            fixed (int* starts = weight.RowStarts, po = offsets)
            fixed (float* pv = weight.Values, px = x, pb = bias, py = y)
            {
                RunDirect(geometry, s.N, starts, 1, po, pv, px, null, bias.IsEmpty ? null : pb, relu, py, (long)weight.Count * s.Positions);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>The SIMD width (floats) for output rows of <paramref name="rowLength"/>: the widest accelerated (or forced) width no wider than the row.</summary>
    internal static int SelectWidth(int rowLength)
    {
        int width = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;
        int forced = ForcedWidth;
        if (forced != 0 && forced < width)
        {
            width = forced;
        }

        while (width > rowLength)
        {
            width = width == 4 ? 1 : width / 2;
        }

        return width;
    }

    /// <summary>
    /// The per-entry offsets of the forward pass: entry (o, c·KH·KW + ky·KW + kx) reads the bordered image at
    /// c·plane + ky·row + kx. Rented from the shared pool; the caller returns it.
    /// </summary>
    private static int[] ForwardOffsets(SparseRows weight, ConvShape s, int row, int plane)
    {
        var offsets = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(weight.Count, 1));
        var columns = weight.ColumnIndices;
        int kk = s.KH * s.KW;
        for (int e = 0; e < columns.Length; e++)
        {
            int column = columns[e], c = column / kk, t = column - (c * kk), ky = t / s.KW, kx = t - (ky * s.KW);
            offsets[e] = (c * plane) + (ky * row) + kx;
        }

        return offsets;
    }

    private static void CheckShape(string op, ConvShape s, long inputLength, long outputLength, string outputName)
    {
        if (s.SH != 1 || s.SW != 1)
        {
            throw new ArgumentException($"{op}: stride ({s.SH},{s.SW}) is not supported, only stride (1,1): {s}");
        }

        s.Check(op, inputLength, (long)s.O * s.Taps, outputLength, outputName);
    }

    private static void CheckWeight(string op, string name, SparseRows weight, int rows, int columns, ConvShape s)
    {
        if (weight.Rows != rows || weight.Columns != columns)
        {
            throw new ArgumentException($"{op} {s}: {name} is [{weight.Rows},{weight.Columns}], expected [{rows},{columns}]");
        }
    }

    /// <summary>This thread's bordered-image workspace of at least <paramref name="floats"/> floats, pinned and 64-byte aligned.</summary>
    private static float* ImageScratch(long floats) => ThreadBuffer.Aligned(ref imageStore, floats);

    /// <summary>This thread's second workspace (output-gradient image of the weight gradient), like <see cref="ImageScratch"/>.</summary>
    private static float* SecondScratch(long floats) => ThreadBuffer.Aligned(ref secondStore, floats);

    /// <summary>Checks the length of a ReLU output that masks an output gradient: empty (no mask) or at least the output's N·O·OH·OW.</summary>
    private static void CheckMask(string op, ConvShape s, int length)
    {
        if (length != 0 && length < (long)s.N * s.O * s.Positions)
        {
            throw new ArgumentException($"{op} {s}: the ReLU's output has {length} elements, expected {(long)s.N * s.O * s.Positions} (or none)");
        }
    }

    /// <summary>target[j] = mask[j] &gt; 0 ? source[j] : 0 for j &lt; <paramref name="n"/> (<see cref="WherePositiveOperator"/>, the ReLU gradient's mask), inline for the short rows of a bordered copy.</summary>
    private static void CopyWherePositive(float* source, float* mask, float* target, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
            {
                WherePositiveOperator.Invoke(Vector512.Load(source + j), Vector512.Load(mask + j)).Store(target + j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= n; j += 8)
            {
                WherePositiveOperator.Invoke(Vector256.Load(source + j), Vector256.Load(mask + j)).Store(target + j);
            }
        }

        for (; j < n; j++)
        {
            target[j] = WherePositiveOperator.Invoke(source[j], mask[j]);
        }
    }

    /// <summary>
    /// Writes planes of <paramref name="rows"/>×<paramref name="columns"/> with a border into target planes of
    /// <paramref name="targetRows"/>×<paramref name="targetColumns"/>: target[p, i, j] = source[p, i − top, j − left]
    /// where that lies in the source, else 0. A negative top or left crops instead of padding. With a
    /// <paramref name="mask"/> (the source's shape), a source element whose mask element is not positive is written as
    /// 0: the gradient through a ReLU whose output the mask is, as <see cref="Elementwise.WherePositive(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> gives it.
    /// </summary>
    private static void Border(float* source, float* mask, int planes, int rows, int columns, int top, int left, float* target, int targetRows, int targetColumns)
    {
        int j0 = Math.Max(0, left), j1 = Math.Min(targetColumns, columns + left), run = j1 - j0;
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < targetRows; i++)
            {
                float* row = target + ((((nint)p * targetRows) + i) * targetColumns);
                int si = i - top;
                if (si < 0 || si >= rows || run <= 0)
                {
                    new Span<float>(row, targetColumns).Clear();
                    continue;
                }

                for (int j = 0; j < j0; j++)
                {
                    row[j] = 0f;
                }

                nint from = ((nint)p * rows * columns) + ((nint)si * columns) + j0 - left;
                if (mask == null)
                {
                    new ReadOnlySpan<float>(source + from, run).CopyTo(new Span<float>(row + j0, run));
                }
                else
                {
                    CopyWherePositive(source + from, mask + from, row + j0, run);
                }

                for (int j = j1; j < targetColumns; j++)
                {
                    row[j] = 0f;
                }
            }
        }
    }
}
