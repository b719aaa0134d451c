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
    /// The most bytes the input's batch tile (its rows × the tile's columns) may span: the tile is halved (8, 4, 2, 1
    /// vectors) until it fits. Set well above a core's L2 (1 MiB on Zen 4): a narrow tile reads only one or two cache
    /// lines of a row per entry, so each load pays a TLB miss (every row of xT lies on its own page) and the index and
    /// broadcast for little work. Measured on Zen 4, the input gradient of 768→3072 at batch 2048 (dyT's 3072 rows ×
    /// 8 vectors, 1.5 MiB) ran 41 → 34 ms and both products of 4096² at batch 256 24 → 19 ms, against 384 KiB tiles.
    /// </summary>
    private const int TileBytes = 2048 * 1024;

    /// <summary>Floats of the per-thread scratch: a 16-row group by one tile of the widest width.</summary>
    private const int ScratchFloats = SparseRows.RowGroup * TileVectors * 16;

    [ThreadStatic]
    private static float[]? scratchStore;

    private static void RunMultiply(SparseRows a, ReadOnlySpan<float> xT, int padded, int ldx, int batch, Span<float> y, int ldy, bool transposedOutput)
    {
        if (a.Rows == 0 || batch == 0)
        {
            return;
        }

        fixed (int* rs = a.RowStarts, ci = a.ColumnIndices, ps = a.PartStarts)
        fixed (float* v = a.Values, px = xT, py = y)
        {
            int width = SelectWidth();
            int tileVectors = TileVectors;
            while (tileVectors > 1 && (long)a.Columns * tileVectors * width * sizeof(float) > TileBytes)
            {
                tileVectors /= 2;
            }

            int tiles = (padded / width + tileVectors - 1) / tileVectors;
            var work = new MultiplyWork(rs, ci, v, ps, a.PartCount, px, ldx, batch, padded, py, ldy, transposedOutput, width, tileVectors);
            int units = tiles * a.PartCount;
            int parts = (long)a.Count * padded < ParallelThreshold ? 1 : KernelWorkers.BalancedParts;
            KernelWorkers.RunRanges(work, units, parts);
        }
    }

    /// <summary>This thread's scratch for one 16-row group of output tiles, pinned and 64-byte aligned.</summary>
    private static float* Scratch()
    {
        var store = scratchStore ??= GC.AllocateUninitializedArray<float>(ScratchFloats + 16, pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref store[0]);
        return (float*)(((nint)p + 63) & ~(nint)63);
    }

    /// <summary>
    /// Units of work numbered tile-major: unit u is the rows of part u % parts of the structure over batch tile
    /// u / parts, a tile being 8 vectors of batch columns (4 where xT has so many rows that 8 would not stay in L2
    /// while every row reads them). Contiguous ranges of units therefore split the batch first: each thread writes
    /// whole rows of y, so no two threads write into one cache line of it (split by output rows, the threads wrote
    /// neighbouring pieces of every row of y and fought over the lines between them). Within a unit the rows go in
    /// groups of 16, whose tiles pass through the scratch and are transposed into y in blocks, so y is written
    /// row-major without a separate pass over it.
    /// </summary>
    private readonly struct MultiplyWork(
        int* rowStarts, int* columns, float* values, int* partStarts, int partCount, float* xT, nint ldx, int batch, int padded,
        float* y, nint ldy, bool transposedOutput, int width, int tileVectors) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int u = start; u < end; u++)
            {
                int p = u % partCount, v0 = u / partCount * tileVectors;
                switch (width)
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
            int count = TOps.Count, vectors = padded / count, tile = tileVectors * count;
            float* scratch = Scratch();
            {
                int thisTile = Math.Min(tileVectors, vectors - v0), col = v0 * count;
                for (int g = first; g < last; g += SparseRows.RowGroup)
                {
                    int groupRows = Math.Min(SparseRows.RowGroup, last - g);
                    for (int r = 0; r < groupRows; r++)
                    {
                        int s = rowStarts[g + r], n = rowStarts[g + r + 1] - s;
                        float* target = transposedOutput ? y + ((g + r) * ldy) + col : scratch + (r * tile);
                        RowTile<TV, TOps>(columns + s, values + s, n, xT + col, ldx, target, thisTile);
                    }

                    if (!transposedOutput)
                    {
                        TransposeBlock(scratch, tile, groupRows, Math.Min(thisTile * count, batch - col), y + (col * ldy) + g, ldy, width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// target[0, vectors·Count) = Σ_e values[e]·xT[columns[e], same columns], one FMA chain per lane over the entries
    /// in order (the first product rounded alone, as a scalar loop from 0 would).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTile<TV, TOps>(int* columns, float* values, int n, float* xT, nint ldx, float* target, int vectors)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int count = TOps.Count, v = 0;
        if (vectors == TileVectors)
        {
            Row8<TV, TOps>(columns, values, n, xT, ldx, target);
            return;
        }

        if (vectors >= 4)
        {
            Row4<TV, TOps>(columns, values, n, xT, ldx, target);
            v = 4;
        }

        if (vectors - v >= 2)
        {
            Row2<TV, TOps>(columns, values, n, xT + (v * count), ldx, target + (v * count));
            v += 2;
        }

        for (; v < vectors; v++)
        {
            Row1<TV, TOps>(columns, values, n, xT + (v * count), ldx, target + (v * count));
        }
    }

    private static void Row8<TV, TOps>(int* columns, float* values, int n, float* xT, nint ldx, float* target)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
        for (int e = 0; e < n; e++)
        {
            float* x = xT + (columns[e] * ldx);
            TV w = TOps.Create(values[e]);
            a0 = TOps.Fma(w, TOps.Load(x), a0);
            a1 = TOps.Fma(w, TOps.Load(x + c), a1);
            a2 = TOps.Fma(w, TOps.Load(x + (2 * c)), a2);
            a3 = TOps.Fma(w, TOps.Load(x + (3 * c)), a3);
            a4 = TOps.Fma(w, TOps.Load(x + (4 * c)), a4);
            a5 = TOps.Fma(w, TOps.Load(x + (5 * c)), a5);
            a6 = TOps.Fma(w, TOps.Load(x + (6 * c)), a6);
            a7 = TOps.Fma(w, TOps.Load(x + (7 * c)), a7);
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

    private static void TransposeUnchecked(ReadOnlySpan<float> source, int rows, int columns, Span<float> target, int ld)
    {
        if (columns == 0)
        {
            return;
        }

        fixed (float* s = source, t = target)
        {
            var work = new TransposeWork(s, rows, columns, t, ld, SelectWidth());
            int strips = (columns + TransposeStrip - 1) / TransposeStrip;
            int parts = (long)rows * columns < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
            KernelWorkers.RunRanges(work, strips, parts);
        }
    }

    /// <summary>Source columns per strip of the transpose: four cache lines of each source row per visit, so the hardware prefetcher sees runs rather than isolated lines.</summary>
    private const int TransposeStrip = 64;

    /// <summary>
    /// Strips of 64 source columns (64 target rows): each walks the source rows 16 at a time, 256 bytes from each,
    /// and fills its target rows front to back in 16×16 blocks, then zeros their padding.
    /// </summary>
    private readonly struct TransposeWork(float* source, int rows, int columns, float* target, nint ld, int width) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int first = start * TransposeStrip, last = Math.Min(end * TransposeStrip, columns);
            for (int c = first; c < last; c += TransposeStrip)
            {
                int stripColumns = Math.Min(TransposeStrip, last - c);
                for (int r = 0; r < rows; r += SparseRows.RowGroup)
                {
                    for (int j = 0; j < stripColumns; j += SparseRows.RowGroup)
                    {
                        TransposeBlock(
                            source + ((nint)r * columns) + c + j, columns, Math.Min(SparseRows.RowGroup, rows - r), Math.Min(SparseRows.RowGroup, stripColumns - j), target + ((c + j) * ld) + r, ld, width);
                    }
                }

                for (int k = c; k < c + stripColumns; k++)
                {
                    new Span<float>(target + (k * ld) + rows, (int)ld - rows).Clear();
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
