using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The sparse-times-dense product (SpMM) and the transposes around it.</summary>
public static unsafe partial class SparseLinear
{
    /// <summary>Vectors of batch columns one output row accumulates in registers at a time (8 at every width: 8 of the 16 ymm, 8 of the 32 zmm registers).</summary>
    private const int TileVectors = 8;

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
            var work = new MultiplyWork(rs, ci, v, ps, px, ldx, batch, padded, py, ldy, transposedOutput, SelectWidth());
            int parts = (long)a.Count * padded < ParallelThreshold ? 1 : a.PartCount;
            KernelWorkers.RunRanges(work, a.PartCount, parts);
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
    /// The rows of some parts of the structure. The batch is walked in tiles of 8 vectors (columns of xT small enough
    /// to stay in L2 while every row of the part reads them), and within a tile the rows in groups of 16; a group's
    /// tiles go through the scratch and are transposed into y in 16-row blocks, so y is written row-major without a
    /// separate pass over it.
    /// </summary>
    private readonly struct MultiplyWork(
        int* rowStarts, int* columns, float* values, int* partStarts, float* xT, nint ldx, int batch, int padded,
        float* y, nint ldy, bool transposedOutput, int width) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int p = start; p < end; p++)
            {
                switch (width)
                {
                    case 16: Part<Vector512<float>, Ops512>(partStarts[p], partStarts[p + 1]); break;
                    case 8: Part<Vector256<float>, Ops256>(partStarts[p], partStarts[p + 1]); break;
                    case 4: Part<Vector128<float>, Ops128>(partStarts[p], partStarts[p + 1]); break;
                    default: Part<float, OpsScalar>(partStarts[p], partStarts[p + 1]); break;
                }
            }
        }

        private void Part<TV, TOps>(int first, int last)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count, vectors = padded / count, tile = TileVectors * count;
            float* scratch = Scratch();
            for (int v0 = 0; v0 < vectors; v0 += TileVectors)
            {
                int tileVectors = Math.Min(TileVectors, vectors - v0), col = v0 * count;
                for (int g = first; g < last; g += SparseRows.RowGroup)
                {
                    int groupRows = Math.Min(SparseRows.RowGroup, last - g);
                    for (int r = 0; r < groupRows; r++)
                    {
                        int s = rowStarts[g + r], n = rowStarts[g + r + 1] - s;
                        float* target = transposedOutput ? y + ((g + r) * ldy) + col : scratch + (r * tile);
                        RowTile<TV, TOps>(columns + s, values + s, n, xT + col, ldx, target, tileVectors);
                    }

                    if (!transposedOutput)
                    {
                        TransposeBlock(scratch, tile, groupRows, Math.Min(tileVectors * count, batch - col), y + (col * ldy) + g, ldy, width);
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
            int strips = (columns + SparseRows.RowGroup - 1) / SparseRows.RowGroup;
            int parts = (long)rows * columns < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
            KernelWorkers.RunRanges(work, strips, parts);
        }
    }

    /// <summary>
    /// Strips of 16 source columns (16 target rows): each walks the source rows 16 at a time, one cache line from
    /// each, and fills its target rows front to back, then zeros their padding.
    /// </summary>
    private readonly struct TransposeWork(float* source, int rows, int columns, float* target, nint ld, int width) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int first = start * SparseRows.RowGroup, last = Math.Min(end * SparseRows.RowGroup, columns);
            for (int c = first; c < last; c += SparseRows.RowGroup)
            {
                int stripColumns = Math.Min(SparseRows.RowGroup, last - c);
                for (int r = 0; r < rows; r += SparseRows.RowGroup)
                {
                    TransposeBlock(source + ((nint)r * columns) + c, columns, Math.Min(SparseRows.RowGroup, rows - r), stripColumns, target + (c * ld) + r, ld, width);
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
    /// whole width×width squares in registers, the ragged edges element by element.
    /// </summary>
    private static void TransposeBlock(float* source, nint sourceStride, int rows, int columns, float* target, nint targetStride, int width)
    {
        int fullRows = width == 1 ? 0 : rows / width * width, fullColumns = width == 1 ? 0 : columns / width * width;
        for (int i = 0; i < fullRows; i += width)
        {
            for (int j = 0; j < fullColumns; j += width)
            {
                float* s = source + (i * sourceStride) + j;
                float* t = target + (j * targetStride) + i;
                switch (width)
                {
                    case 16: Square<Vector512<float>, Ops512>(s, sourceStride, t, targetStride); break;
                    case 8: Square<Vector256<float>, Ops256>(s, sourceStride, t, targetStride); break;
                    default: Square<Vector128<float>, Ops128>(s, sourceStride, t, targetStride); break;
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
