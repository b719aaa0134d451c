using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>The sampled dense-dense product (SDDMM): the weight gradient at the kept positions only.</summary>
public static unsafe partial class SparseLinear
{
    /// <summary>
    /// The lanes of <paramref name="v"/> summed in one fixed tree: halves added while wider than 4 lanes, then
    /// (l0 + l2) + (l1 + l3). Eight instructions for a Vector512 where <see cref="Vector512.Sum{T}"/> took 25 (four
    /// 4-lane sums, then combined): the sampled product reduces one vector per entry per 64 floats, so this is a good
    /// part of its work. Every width and instruction set gives the same bits for the same lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce<TV>(TV v)
        where TV : struct
    {
        Vector128<float> x;
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var z = (Vector512<float>)(object)v;
            var y = z.GetLower() + z.GetUpper();
            x = y.GetLower() + y.GetUpper();
        }
        else if (typeof(TV) == typeof(Vector256<float>))
        {
            var y = (Vector256<float>)(object)v;
            x = y.GetLower() + y.GetUpper();
        }
        else if (typeof(TV) == typeof(Vector128<float>))
        {
            x = (Vector128<float>)(object)v;
        }
        else
        {
            return (float)(object)v;
        }

        if (Sse3.IsSupported)
        {
            var pairs = Sse.Add(x, Sse.MoveHighToLow(x, x));
            return Sse.AddScalar(pairs, Sse3.MoveHighAndDuplicate(pairs)).ToScalar();
        }

        return (x.GetElement(0) + x.GetElement(2)) + (x.GetElement(1) + x.GetElement(3));
    }

    /// <summary>
    /// The padded batch from which the sums of <see cref="SampledProduct"/> and <see cref="Backward"/> run over two halves
    /// (see <see cref="BatchHalves"/>): 128. Tests raise it to compute a reference for each half alone; never set outside tests.
    /// </summary>
    internal static int HalvesFrom { get; set; } = 2 * MaxTileWidth;

    /// <summary>
    /// How many runs of pieces each value of the sampled product is summed in: 1 for a padded batch below 128, else
    /// 2, the halves split at <see cref="HalfColumns"/>. Each half is summed piece by piece in batch order, then the
    /// second half's sum is added to the first's. The fused backward pass splits the batch between threads this way,
    /// so each thread transposes only its half of dy; the split depends on the batch alone, never on the threads.
    /// </summary>
    private static int BatchHalves(int padded) => padded >= HalvesFrom ? 2 : 1;

    /// <summary>Batch columns [from, to) of half <paramref name="half"/>: with two halves, the first ends at 64·⌈padded / 128⌉, a piece boundary at every width.</summary>
    private static (int From, int To) HalfColumns(int padded, int halves, int half)
    {
        int middle = halves == 1 ? padded : (padded + (2 * MaxTileWidth) - 1) / (2 * MaxTileWidth) * MaxTileWidth;
        return half == 0 ? (0, middle) : (middle, padded);
    }

    private static void RunSampledProduct(SparseRows pattern, ReadOnlySpan<float> aT, ReadOnlySpan<float> bT, int batch, Span<float> values, Span<float> dense)
    {
        if (pattern.Rows == 0)
        {
            return;
        }

        int padded = PaddedBatch(batch), halves = BatchHalves(padded);
        float[]? second = halves == 2 ? ArrayPool<float>.Shared.Rent(Math.Max(pattern.Count, 1)) : null;
        try
        {
            fixed (int* rs = pattern.RowStarts, ci = pattern.ColumnIndices, ps = pattern.PartStarts)
            fixed (float* pa = aT, pb = bT, pv = values, pd = dense, p2 = second)
            {
                int width = SelectWidth();
                var work = new SampledProductWork(
                    pattern, rs, ci, ps, pa, pb, new Layout(batch, pattern.Rows, width), new Layout(batch, pattern.Columns, width), padded, halves, pv, p2, pd);
                int parts = (long)pattern.Count * padded < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
                KernelWorkers.RunRanges(work, pattern.PartCount, parts);
            }
        }
        finally
        {
            if (second != null)
            {
                ArrayPool<float>.Shared.Return(second);
            }
        }
    }

    /// <summary>
    /// The entries of some parts of the structure, piece by piece of the batch: a row's piece of aT in registers,
    /// each entry's product with bT's piece one FMA chain reduced to a float and added to the entry's sum in piece
    /// order, the second half of the batch (<see cref="BatchHalves"/>) into sums of its own added at the end; then the
    /// part's rows of the dense gradient.
    /// </summary>
    private readonly struct SampledProductWork(
        SparseRows pattern, int* rowStarts, int* columns, int* partStarts, float* aT, float* bT, Layout aLayout, Layout bLayout, int padded, int halves,
        float* values, float* second, float* dense) : IRangeWork
    {
        public void Run(int start, int end)
        {
            // All of the range's rows per piece of the batch, so bT's piece is read from cache by all of them.
            int first = partStarts[start], last = partStarts[end];
            for (int half = 0; half < halves; half++)
            {
                var (from, to) = HalfColumns(padded, halves, half);
                float* sums = half == 0 ? values : second;
                switch (aLayout.Width)
                {
                    case 16: Part<Vector512<float>, Ops512>(first, last, from, to, sums); break;
                    case 8: Part<Vector256<float>, Ops256>(first, last, from, to, sums); break;
                    case 4: Part<Vector128<float>, Ops128>(first, last, from, to, sums); break;
                    default: Part<float, OpsScalar>(first, last, from, to, sums); break;
                }
            }

            if (halves == 2)
            {
                for (int e = rowStarts[first]; e < rowStarts[last]; e++)
                {
                    values[e] += second[e];
                }
            }

            if (dense != null)
            {
                pattern.ScatterRows(new ReadOnlySpan<float>(values, pattern.Count), new Span<float>(dense, pattern.Rows * pattern.Columns), first, last);
            }
        }

        private void Part<TV, TOps>(int first, int last, int from, int to, float* values)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count;
            if (from == to)
            {
                new Span<float>(values + rowStarts[first], rowStarts[last] - rowStarts[first]).Clear();
                return;
            }

            int pv = Math.Min(4, aLayout.Tile / count), piece = pv * count;
            nint lda = aLayout.Tile, ldb = bLayout.Tile;
            for (int col = from; col < to; col += piece)
            {
                float* aPiece = aT + aLayout.Offset(col / count), bPiece = bT + bLayout.Offset(col / count);
                bool firstPiece = col == from;
                for (int r = first; r < last; r++)
                {
                    float* a = aPiece + (r * lda);
                    int e = rowStarts[r], end = rowStarts[r + 1];
                    if (pv == 4)
                    {
                        TV a0 = TOps.Load(a), a1 = TOps.Load(a + count), a2 = TOps.Load(a + (2 * count)), a3 = TOps.Load(a + (3 * count));
                        for (; e < end; e++)
                        {
                            float* b = bPiece + (columns[e] * ldb);
                            TV s = TOps.Mul(a0, TOps.Load(b));
                            s = TOps.Fma(a1, TOps.Load(b + count), s);
                            s = TOps.Fma(a2, TOps.Load(b + (2 * count)), s);
                            s = TOps.Fma(a3, TOps.Load(b + (3 * count)), s);
                            values[e] = firstPiece ? Reduce(s) : values[e] + Reduce(s);
                        }
                    }
                    else
                    {
                        for (; e < end; e++)
                        {
                            float* b = bPiece + (columns[e] * ldb);
                            TV s = TOps.Mul(TOps.Load(a), TOps.Load(b));
                            for (int v = 1; v < pv; v++)
                            {
                                s = TOps.Fma(TOps.Load(a + (v * count)), TOps.Load(b + (v * count)), s);
                            }

                            values[e] = firstPiece ? Reduce(s) : values[e] + Reduce(s);
                        }
                    }
                }
            }
        }
    }
}
