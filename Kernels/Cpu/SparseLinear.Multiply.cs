using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>The sparse-times-dense product (SpMM) and the transposes around it.</summary>
public static unsafe partial class SparseLinear
{
    /// <summary>Vectors of batch columns one output row accumulates in registers at a time (8 at every width: 8 of the 16 ymm, 8 of the 32 zmm registers).</summary>
    private const int TileVectors = 8;

    /// <summary>
    /// The most bytes the input's kernel tile (its rows × the tile's columns) may span: the tile is halved (8, 4, 2, 1
    /// vectors) until it fits, so it stays in a core's L2 (1 MiB on Zen 4) beside the scratch and the streams of
    /// entries while every output row of the unit reads it. A 4,096-feature input ran its forward product 10-20% faster
    /// at 512 KiB (2 vectors at AVX-512, 4 at AVX2) than at 2 MiB (8 vectors), measured alternately in one process at
    /// both widths. The batch tiles of the layout are contiguous, so a kernel tile of two of them is two streams, not
    /// one page per row as in a strided layout.
    /// </summary>
    private const int TileBytes = 512 * 1024;

    /// <summary>Floats of the per-thread scratch: a 16-row group by one tile of the widest width.</summary>
    private const int ScratchFloats = SparseRows.RowGroup * TileVectors * 16;

    [ThreadStatic]
    private static float[]? scratchStore;

    private static void RunMultiply(SparseRows a, ReadOnlySpan<float> xT, int batch, Span<float> y, bool transposedOutput)
    {
        if (a.Rows == 0 || batch == 0)
        {
            return;
        }

        fixed (int* rs = a.RowStarts, ci = a.ColumnIndices, ps = a.PartStarts)
        fixed (float* v = a.Values, px = xT, py = y)
        {
            int width = SelectWidth(), padded = PaddedBatch(batch);
            int tileVectors = TileVectors;
            while (tileVectors > 1 && (long)a.Columns * tileVectors * width * sizeof(float) > TileBytes)
            {
                tileVectors /= 2;
            }

            int vectors = padded / width;
            tileVectors = Math.Min(tileVectors, vectors);
            int tiles = (vectors + tileVectors - 1) / tileVectors;
            var layout = new Layout(batch, a.Columns, width);
            var work = new MultiplyWork(rs, ci, v, ps, a.PartCount, px, layout, batch, vectors, py, a.Rows, transposedOutput, tileVectors);
            int units = tiles * a.PartCount;
            int parts = (long)a.Count * padded < ParallelThreshold ? 1 : KernelWorkers.BalancedParts;
            KernelWorkers.RunRanges(work, units, parts);
        }
    }

    /// <summary>This thread's scratch for one 16-row group of output tiles, pinned and 64-byte aligned.</summary>
    private static float* Scratch() => ThreadBuffer.Aligned(ref scratchStore, ScratchFloats);

    /// <summary>
    /// Where the vectors of the batch lie in a transposed operand of the tile-major layout, for one SIMD width: vector v
    /// (batch columns [v·width, (v+1)·width)) of feature f is at <see cref="Offset"/>(v) + f·<see cref="Tile"/>.
    /// </summary>
    private readonly struct Layout(int batch, int features, int width)
    {
        /// <summary>The batch tile width T: the stride between features within a tile.</summary>
        public readonly int Tile = TileWidth(batch);

        /// <summary>Floats of one whole batch tile (all features).</summary>
        public readonly nint TileStride = (nint)features * TileWidth(batch);

        /// <summary>The SIMD width in floats.</summary>
        public readonly int Width = width;

        /// <summary>The offset of vector <paramref name="v"/> of feature 0.</summary>
        public nint Offset(int v)
        {
            int column = v * Width;
            return (column / Tile * TileStride) + (column % Tile);
        }
    }

    /// <summary>
    /// Units of work numbered tile-major: unit u is the rows of part u % parts of the structure over kernel tile
    /// u / parts, a kernel tile being 8 vectors of batch columns (fewer where the input has so many rows that 8 would
    /// not stay in cache while every row reads them). Contiguous ranges of units therefore split the batch first: each
    /// thread writes whole rows of y, so no two threads write into one cache line of it (split by output rows, the
    /// threads wrote neighbouring pieces of every row of y and fought over the lines between them). Within a unit the
    /// rows go in groups of 16, whose tiles pass through the scratch and are transposed into y in blocks, so y is
    /// written row-major without a separate pass over it.
    /// </summary>
    private readonly struct MultiplyWork(
        int* rowStarts, int* columns, float* values, int* partStarts, int partCount, float* xT, Layout layout, int batch, int vectors,
        float* y, int ldy, bool transposedOutput, int tileVectors) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int u = start; u < end; u++)
            {
                int p = u % partCount, v0 = u / partCount * tileVectors;
                switch (layout.Width)
                {
                    case 16: Part<Vector512<float>, Ops512>(partStarts[p], partStarts[p + 1], v0); break;
                    case 8: Part<Vector256<float>, Ops256>(partStarts[p], partStarts[p + 1], v0); break;
                    case 4: Part<Vector128<float>, Ops128>(partStarts[p], partStarts[p + 1], v0); break;
                    default: Part<float, OpsScalar>(partStarts[p], partStarts[p + 1], v0); break;
                }
            }
        }

        private void Part<TV, TOps>(int first, int last, int v0)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count, tile = tileVectors * count;
            float* scratch = Scratch();
            int thisTile = Math.Min(tileVectors, vectors - v0), col = v0 * count;
            int outputColumns = Math.Min(thisTile * count, batch - col), perRow = (outputColumns + SparseRows.RowGroup - 1) / SparseRows.RowGroup;
            for (int g = first; g < last; g += SparseRows.RowGroup)
            {
                int groupRows = Math.Min(SparseRows.RowGroup, last - g);
                bool ask = !transposedOutput && g + SparseRows.RowGroup < last && Sse.IsSupported;
                for (int r = 0; r < groupRows; r++)
                {
                    int s = rowStarts[g + r], n = rowStarts[g + r + 1] - s;
                    RowTile<TV, TOps>(columns + s, values + s, n, xT, layout, v0, scratch + (r * tile), thisTile);
                    if (ask)
                    {
                        // The lines of y the next group will write, a share after each row, so they arrive while this
                        // group computes rather than stalling its stores.
                        float* next = y + (col * ldy) + g + SparseRows.RowGroup;
                        for (int b = r * perRow; b < Math.Min((r + 1) * perRow, outputColumns); b++)
                        {
                            Sse.Prefetch0(next + (b * ldy));
                            Sse.Prefetch0(next + (b * ldy) + SparseRows.RowGroup - 1);
                        }
                    }
                }

                if (transposedOutput)
                {
                    // yT has the layout of xT with ldy features: copy each row's vectors to where they belong.
                    var outLayout = new Layout(batch, ldy, count);
                    for (int r = 0; r < groupRows; r++)
                    {
                        for (int k = 0; k < thisTile; k++)
                        {
                            TOps.Store(TOps.Load(scratch + (r * tile) + (k * count)), y + outLayout.Offset(v0 + k) + ((g + r) * outLayout.Tile));
                        }
                    }
                }
                else
                {
                    TransposeBlock(scratch, tile, groupRows, Math.Min(thisTile * count, batch - col), y + (col * ldy) + g, ldy, count);
                }
            }
        }
    }

    /// <summary>
    /// target[0, vectors·Count) = Σ_e values[e]·xT[columns[e], vectors v0 onwards], one FMA chain per lane over the
    /// entries in order (the first product rounded alone, as a scalar loop from 0 would).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTile<TV, TOps>(int* columns, float* values, int n, float* xT, Layout layout, int v0, float* target, int vectors)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int count = TOps.Count, v = 0;
        nint ld = layout.Tile;
        if (vectors == TileVectors)
        {
            Row8<TV, TOps>(columns, values, n, xT + layout.Offset(v0), xT + layout.Offset(v0 + 4), ld, target);
            return;
        }

        if (vectors >= 4)
        {
            Row4<TV, TOps>(columns, values, n, xT + layout.Offset(v0), ld, target);
            v = 4;
        }

        if (vectors - v >= 2)
        {
            Row2<TV, TOps>(columns, values, n, xT + layout.Offset(v0 + v), ld, target + (v * count));
            v += 2;
        }

        for (; v < vectors; v++)
        {
            Row1<TV, TOps>(columns, values, n, xT + layout.Offset(v0 + v), ld, target + (v * count));
        }
    }

    /// <summary>Eight vectors: four contiguous ones at <paramref name="xa"/>, four at <paramref name="xb"/> (the next tile, or the same tile further on).</summary>
    private static void Row8<TV, TOps>(int* columns, float* values, int n, float* xa, float* xb, nint ldx, float* target)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
        for (int e = 0; e < n; e++)
        {
            nint at = columns[e] * ldx;
            float* x = xa + at, z = xb + at;
            TV w = TOps.Create(values[e]);
            a0 = TOps.Fma(w, TOps.Load(x), a0);
            a1 = TOps.Fma(w, TOps.Load(x + c), a1);
            a2 = TOps.Fma(w, TOps.Load(x + (2 * c)), a2);
            a3 = TOps.Fma(w, TOps.Load(x + (3 * c)), a3);
            a4 = TOps.Fma(w, TOps.Load(z), a4);
            a5 = TOps.Fma(w, TOps.Load(z + c), a5);
            a6 = TOps.Fma(w, TOps.Load(z + (2 * c)), a6);
            a7 = TOps.Fma(w, TOps.Load(z + (3 * c)), a7);
        }

        TOps.Store(a0, target);
        TOps.Store(a1, target + c);
        TOps.Store(a2, target + (2 * c));
        TOps.Store(a3, target + (3 * c));
        TOps.Store(a4, target + (4 * c));
        TOps.Store(a5, target + (5 * c));
        TOps.Store(a6, target + (6 * c));
        TOps.Store(a7, target + (7 * c));
    }

    private static void Row4<TV, TOps>(int* columns, float* values, int n, float* xT, nint ldx, float* target)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (int e = 0; e < n; e++)
        {
            float* x = xT + (columns[e] * ldx);
            TV w = TOps.Create(values[e]);
            a0 = TOps.Fma(w, TOps.Load(x), a0);
            a1 = TOps.Fma(w, TOps.Load(x + c), a1);
            a2 = TOps.Fma(w, TOps.Load(x + (2 * c)), a2);
            a3 = TOps.Fma(w, TOps.Load(x + (3 * c)), a3);
        }

        TOps.Store(a0, target);
        TOps.Store(a1, target + c);
        TOps.Store(a2, target + (2 * c));
        TOps.Store(a3, target + (3 * c));
    }

    private static void Row2<TV, TOps>(int* columns, float* values, int n, float* xT, nint ldx, float* target)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero;
        for (int e = 0; e < n; e++)
        {
            float* x = xT + (columns[e] * ldx);
            TV w = TOps.Create(values[e]);
            a0 = TOps.Fma(w, TOps.Load(x), a0);
            a1 = TOps.Fma(w, TOps.Load(x + c), a1);
        }

        TOps.Store(a0, target);
        TOps.Store(a1, target + c);
    }

    private static void Row1<TV, TOps>(int* columns, float* values, int n, float* xT, nint ldx, float* target)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        TV a0 = TOps.Create(0f);
        for (int e = 0; e < n; e++)
        {
            a0 = TOps.Fma(TOps.Create(values[e]), TOps.Load(xT + (columns[e] * ldx)), a0);
        }

        TOps.Store(a0, target);
    }

    private static void TransposeUnchecked(ReadOnlySpan<float> source, int rows, int columns, Span<float> target)
    {
        if (columns == 0 || rows == 0)
        {
            return;
        }

        fixed (float* s = source, t = target)
        {
            var work = new TransposeWork(s, rows, columns, t, SelectWidth());
            int strips = (columns + TransposeStrip - 1) / TransposeStrip;
            int parts = (long)rows * columns < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
            KernelWorkers.RunRanges(work, strips, parts);
        }
    }

    /// <summary>Source columns per strip of the transpose: four cache lines of each source row per visit, so the hardware prefetcher sees runs rather than isolated lines.</summary>
    private const int TransposeStrip = 64;

    /// <summary>
    /// Strips of 64 source columns (64 features): each walks the source rows 16 at a time, 256 bytes from each, and
    /// fills its features' runs of each batch tile in 16×16 blocks (a block never straddles tiles: tiles are 16, 32 or
    /// 64 wide), then zeros the padding of the last tile.
    /// </summary>
    private readonly struct TransposeWork(float* source, int rows, int columns, float* target, int width) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int tile = TileWidth(rows), padded = PaddedBatch(rows);
            nint tileStride = (nint)columns * tile;
            int first = start * TransposeStrip, last = Math.Min(end * TransposeStrip, columns);
            for (int c = first; c < last; c += TransposeStrip)
            {
                int stripColumns = Math.Min(TransposeStrip, last - c);
                for (int r = 0; r < rows; r += SparseRows.RowGroup)
                {
                    float* tileBase = target + (r / tile * tileStride) + (r % tile);
                    for (int j = 0; j < stripColumns; j += SparseRows.RowGroup)
                    {
                        TransposeBlock(
                            source + ((nint)r * columns) + c + j, columns, Math.Min(SparseRows.RowGroup, rows - r), Math.Min(SparseRows.RowGroup, stripColumns - j), tileBase + ((c + j) * tile), tile, width);
                    }
                }

                if (padded > rows)
                {
                    float* lastTile = target + ((rows / tile) * tileStride) + (rows % tile);
                    for (int k = c; k < c + stripColumns; k++)
                    {
                        new Span<float>(lastTile + (k * tile), padded - rows).Clear();
                    }
                }
            }
        }
    }

    /// <summary>
    /// target[j, i] = source[i, j] for i &lt; <paramref name="rows"/>, j &lt; <paramref name="columns"/>, both at most 16:
    /// whole 8×8 squares with AVX shuffles (4×4 with SSE or NEON where AVX is missing or a narrower width is forced),
    /// the ragged edges element by element.
    /// </summary>
    private static void TransposeBlock(float* source, nint sourceStride, int rows, int columns, float* target, nint targetStride, int width)
    {
        int square = width >= 8 && Avx.IsSupported ? 8 : width >= 4 ? 4 : 1;
        int fullRows = square == 1 ? 0 : rows / square * square, fullColumns = square == 1 ? 0 : columns / square * square;
        for (int i = 0; i < fullRows; i += square)
        {
            for (int j = 0; j < fullColumns; j += square)
            {
                float* s = source + (i * sourceStride) + j;
                float* t = target + (j * targetStride) + i;
                if (square == 8)
                {
                    Sgemm.Transpose8x8(s, sourceStride, t, targetStride);
                }
                else
                {
                    Square<Vector128<float>, Ops128>(s, sourceStride, t, targetStride);
                }
            }
        }

        for (int i = 0; i < rows; i++)
        {
            for (int j = i < fullRows ? fullColumns : 0; j < columns; j++)
            {
                target[(j * targetStride) + i] = source[(i * sourceStride) + j];
            }
        }
    }

    /// <summary>
    /// The L×L square at source transposed to target, L = <c>TOps.Count</c>: log₂ L rounds of interleaving row i with
    /// row i + L/2, in registers (or the stack where the JIT keeps them there); moves only, so no bits change.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Square<TV, TOps>(float* source, nint sourceStride, float* target, nint targetStride)
        where TV : unmanaged
        where TOps : struct, IPairOps<TV>
    {
        int l = TOps.Count, half = l / 2;
        TV* a = stackalloc TV[16];
        TV* b = stackalloc TV[16];
        for (int i = 0; i < l; i++)
        {
            a[i] = TOps.Load(source + (i * sourceStride));
        }

        for (int round = l; round > 1; round >>= 1)
        {
            for (int i = 0; i < half; i++)
            {
                b[2 * i] = TOps.InterleaveLower(a[i], a[i + half]);
                b[(2 * i) + 1] = TOps.InterleaveUpper(a[i], a[i + half]);
            }

            TV* swap = a;
            a = b;
            b = swap;
        }

        for (int i = 0; i < l; i++)
        {
            TOps.Store(a[i], target + (i * targetStride));
        }
    }
}
