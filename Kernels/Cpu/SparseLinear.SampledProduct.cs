using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The sampled dense-dense product (SDDMM): the weight gradient at the kept positions only.</summary>
public static unsafe partial class SparseLinear
{
    /// <summary>
    /// Vectors of batch columns per tile of the sampled product: 2048 floats (8 KiB of a row) at AVX-512, so each
    /// value's partial sum is reduced to a float once per 128 FMAs rather than per 16. The horizontal sums, not the
    /// reads, were the limit: on Zen 4 at 768→3072, batch 2048, 90% sparse, 16-vector tiles (xT's tile in L2) took
    /// 21 ms, 32 vectors 17 ms, 128 vectors 15 ms; the long contiguous runs of xT's rows stream well from L3.
    /// </summary>
    private const int DotTileVectors = 128;

    private static void RunSampledProduct(SparseRows pattern, ReadOnlySpan<float> aT, ReadOnlySpan<float> bT, int padded, int ld, int batch, Span<float> values, Span<float> dense)
    {
        if (pattern.Rows == 0)
        {
            return;
        }

        fixed (int* rs = pattern.RowStarts, ci = pattern.ColumnIndices, ps = pattern.PartStarts)
        fixed (float* pa = aT, pb = bT, pv = values, pd = dense)
        {
            var work = new SampledProductWork(pattern, rs, ci, ps, pa, pb, ld, batch == 0 ? 0 : padded, pv, pd, SelectWidth());
            int parts = (long)pattern.Count * padded < ParallelThreshold ? 1 : pattern.PartCount;
            KernelWorkers.RunRanges(work, pattern.PartCount, parts);
        }
    }

    /// <summary>
    /// The entries of some parts of the structure: the batch in tiles of 128 vectors, each entry's dot product over a
    /// tile one FMA chain across the tile's vectors (four entries side by side, sharing the load of aT's row) reduced
    /// to a float and added to the entry's sum in tile order; then the part's rows of the dense gradient.
    /// </summary>
    private readonly struct SampledProductWork(
        SparseRows pattern, int* rowStarts, int* columns, int* partStarts, float* aT, float* bT, nint ld, int padded,
        float* values, float* dense, int width) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int p = start; p < end; p++)
            {
                int first = partStarts[p], last = partStarts[p + 1];
                switch (width)
                {
                    case 16: Part<Vector512<float>, Ops512>(first, last); break;
                    case 8: Part<Vector256<float>, Ops256>(first, last); break;
                    case 4: Part<Vector128<float>, Ops128>(first, last); break;
                    default: Part<float, OpsScalar>(first, last); break;
                }

                if (dense != null)
                {
                    pattern.ScatterRows(new ReadOnlySpan<float>(values, pattern.Count), new Span<float>(dense, pattern.Rows * pattern.Columns), first, last);
                }
            }
        }

        private void Part<TV, TOps>(int first, int last)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count, vectors = padded / count;
            if (vectors == 0)
            {
                for (int e = rowStarts[first]; e < rowStarts[last]; e++)
                {
                    values[e] = 0f;
                }

                return;
            }

            for (int v0 = 0; v0 < vectors; v0 += DotTileVectors)
            {
                int tileVectors = Math.Min(DotTileVectors, vectors - v0), col = v0 * count;
                bool firstTile = v0 == 0;
                for (int r = first; r < last; r++)
                {
                    float* a = aT + (r * ld) + col;
                    int e = rowStarts[r], end = rowStarts[r + 1];
                    for (; e + 4 <= end; e += 4)
                    {
                        Dot4<TV, TOps>(a, bT + col, ld, columns + e, tileVectors, values + e, firstTile);
                    }

                    for (; e < end; e++)
                    {
                        float* b = bT + (columns[e] * ld) + col;
                        TV sum = TOps.Mul(TOps.Load(a), TOps.Load(b));
                        for (int v = 1; v < tileVectors; v++)
                        {
                            sum = TOps.Fma(TOps.Load(a + (v * count)), TOps.Load(b + (v * count)), sum);
                        }

                        values[e] = firstTile ? TOps.Sum(sum) : values[e] + TOps.Sum(sum);
                    }
                }
            }
        }
    }

    /// <summary>Four entries of one row over one tile: the same operations per entry as the one-entry loop, interleaved so four FMA chains run at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4<TV, TOps>(float* a, float* bT, nint ld, int* columns, int vectors, float* values, bool firstTile)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int count = TOps.Count;
        float* b0 = bT + (columns[0] * ld), b1 = bT + (columns[1] * ld), b2 = bT + (columns[2] * ld), b3 = bT + (columns[3] * ld);
        TV av = TOps.Load(a);
        TV s0 = TOps.Mul(av, TOps.Load(b0)), s1 = TOps.Mul(av, TOps.Load(b1)), s2 = TOps.Mul(av, TOps.Load(b2)), s3 = TOps.Mul(av, TOps.Load(b3));
        for (int v = 1; v < vectors; v++)
        {
            int at = v * count;
            av = TOps.Load(a + at);
            s0 = TOps.Fma(av, TOps.Load(b0 + at), s0);
            s1 = TOps.Fma(av, TOps.Load(b1 + at), s1);
            s2 = TOps.Fma(av, TOps.Load(b2 + at), s2);
            s3 = TOps.Fma(av, TOps.Load(b3 + at), s3);
        }

        if (firstTile)
        {
            values[0] = TOps.Sum(s0);
            values[1] = TOps.Sum(s1);
            values[2] = TOps.Sum(s2);
            values[3] = TOps.Sum(s3);
        }
        else
        {
            values[0] += TOps.Sum(s0);
            values[1] += TOps.Sum(s1);
            values[2] += TOps.Sum(s2);
            values[3] += TOps.Sum(s3);
        }
    }
}
