using System.Buffers;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The backward pass in one sweep: the input gradient (SpMM with W's transpose) and the weight gradient (SDDMM) together.</summary>
public static unsafe partial class SparseLinear
{
    private static void RunBackward(
        SparseRows weight, SparseRows transposed, ReadOnlySpan<float> xT, ReadOnlySpan<float> dyT, int batch, Span<float> dx,
        Span<float> weightGradValues, Span<float> weightGrad)
    {
        if (weight.Columns == 0 || batch == 0)
        {
            // No input features (then no entries either) or no batch: dx is empty, every dW is 0.
            weightGradValues.Clear();
            weightGrad.Clear();
            return;
        }

        // dW is summed in the transpose's entry order, where each thread's entries are one contiguous run it streams
        // through once per piece of the batch, then put into W's order.
        float[] sums = ArrayPool<float>.Shared.Rent(Math.Max(weight.Count, 1));
        try
        {
            fixed (int* rs = transposed.RowStarts, ci = transposed.ColumnIndices, ps = transposed.PartStarts, slots = transposed.SourceSlots)
            fixed (float* v = transposed.Values, px = xT, pd = dyT, pdx = dx, pt = sums, pw = weightGradValues)
            {
                int width = SelectWidth(), padded = PaddedBatch(batch);
                var work = new BackwardWork(
                    rs, ci, v, ps, slots, px, new Layout(batch, weight.Columns, width), pd, new Layout(batch, weight.Rows, width), batch, padded, pdx,
                    weight.Columns, pt, pw);
                int parts = (long)weight.Count * padded < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
                KernelWorkers.RunRanges(work, transposed.PartCount, parts);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(sums);
        }

        if (!weightGrad.IsEmpty)
        {
            fixed (float* pw = weightGradValues, pg = weightGrad)
            {
                int parts = weight.Count + (long)weight.Rows * weight.Columns < ParallelThreshold ? 1 : weight.PartCount;
                KernelWorkers.RunRanges(new ScatterWork(weight, pw, pg), weight.PartCount, parts);
            }
        }
    }

    /// <summary>The dense weight gradient from the values, a part of W's rows at a time.</summary>
    private readonly struct ScatterWork(SparseRows pattern, float* values, float* dense) : IRangeWork
    {
        public void Run(int start, int end)
        {
            var parts = pattern.PartStarts;
            pattern.ScatterRows(new ReadOnlySpan<float>(values, pattern.Count), new Span<float>(dense, pattern.Rows * pattern.Columns), parts[start], parts[end]);
        }
    }

    /// <summary>
    /// Some parts of W's transpose (rows = input features i, entries (i, o) with value W[o, i]), over the whole batch
    /// piece by piece: for each row, xT's piece of the row stays in registers while the entries stream dyT's piece of
    /// row o, which serves both dx[·, i] += W[o, i]·dy[·, o] (one FMA chain per lane in entry order, as
    /// <see cref="Multiply"/> with the transpose) and dW[o, i] += Σ dy[·, o]·x[·, i] (the sum of
    /// <see cref="SampledProduct"/>, piece by piece). A thread keeps its rows for the whole batch, so each dW value
    /// is summed by one thread; dyT's piece (out × 64 floats at AVX-512) stays in its L2 while every row reads it.
    /// The 16-row groups of dx pass through the scratch into the row-major dx, as in <see cref="Multiply"/>.
    /// </summary>
    private readonly struct BackwardWork(
        int* rowStarts, int* columns, float* values, int* partStarts, int* slots, float* xT, Layout xLayout, float* dyT, Layout dyLayout, int batch,
        int padded, float* dx, int inputs, float* sums, float* gradValues) : IRangeWork
    {
        public void Run(int start, int end)
        {
            // All of the range's rows per piece of the batch, so dyT's piece is read from L2 by all of them before the
            // next piece is fetched; the range boundaries are part boundaries, multiples of 16 rows.
            int first = partStarts[start], last = partStarts[end];
            switch (xLayout.Width)
            {
                case 16: Part<Vector512<float>, Ops512>(first, last); break;
                case 8: Part<Vector256<float>, Ops256>(first, last); break;
                case 4: Part<Vector128<float>, Ops128>(first, last); break;
                default: Part<float, OpsScalar>(first, last); break;
            }

            for (int e = rowStarts[first]; e < rowStarts[last]; e++)
            {
                gradValues[slots[e]] = sums[e];
            }
        }

        private void Part<TV, TOps>(int first, int last)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count, vectors = padded / count, pv = Math.Min(4, xLayout.Tile / count), piece = pv * count;
            nint ldx = xLayout.Tile, ldd = dyLayout.Tile;
            float* scratch = Scratch();
            for (int v0 = 0; v0 < vectors; v0 += pv)
            {
                float* xPiece = xT + xLayout.Offset(v0), dPiece = dyT + dyLayout.Offset(v0);
                bool firstPiece = v0 == 0;
                int col = v0 * count;
                for (int g = first; g < last; g += SparseRows.RowGroup)
                {
                    int groupRows = Math.Min(SparseRows.RowGroup, last - g);
                    for (int r = 0; r < groupRows; r++)
                    {
                        int s = rowStarts[g + r], n = rowStarts[g + r + 1] - s;
                        float* x = xPiece + ((g + r) * ldx), target = scratch + (r * piece);
                        if (pv == 4)
                        {
                            Row4Both<TV, TOps>(columns + s, values + s, n, x, dPiece, ldd, target, sums + s, firstPiece);
                        }
                        else
                        {
                            RowBoth<TV, TOps>(columns + s, values + s, n, x, dPiece, ldd, target, sums + s, firstPiece, pv);
                        }
                    }

                    TransposeBlock(scratch, piece, groupRows, Math.Min(piece, batch - col), dx + (col * inputs) + g, inputs, count);
                }
            }
        }
    }

    /// <summary>One row of the transpose over a 4-vector piece: dx's accumulators and the dW products of each entry.</summary>
    private static void Row4Both<TV, TOps>(int* columns, float* values, int n, float* x, float* dyT, nint ld, float* target, float* sums, bool firstPiece)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV x0 = TOps.Load(x), x1 = TOps.Load(x + c), x2 = TOps.Load(x + (2 * c)), x3 = TOps.Load(x + (3 * c));
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (int e = 0; e < n; e++)
        {
            float* d = dyT + (columns[e] * ld);
            TV d0 = TOps.Load(d), d1 = TOps.Load(d + c), d2 = TOps.Load(d + (2 * c)), d3 = TOps.Load(d + (3 * c));
            TV w = TOps.Create(values[e]);
            a0 = TOps.Fma(w, d0, a0);
            a1 = TOps.Fma(w, d1, a1);
            a2 = TOps.Fma(w, d2, a2);
            a3 = TOps.Fma(w, d3, a3);
            TV s = TOps.Mul(d0, x0);
            s = TOps.Fma(d1, x1, s);
            s = TOps.Fma(d2, x2, s);
            s = TOps.Fma(d3, x3, s);
            sums[e] = firstPiece ? Reduce(s) : sums[e] + Reduce(s);
        }

        TOps.Store(a0, target);
        TOps.Store(a1, target + c);
        TOps.Store(a2, target + (2 * c));
        TOps.Store(a3, target + (3 * c));
    }

    /// <summary><see cref="Row4Both"/> for pieces of 1 or 2 vectors (batch tiles narrower than 4 vectors).</summary>
    private static void RowBoth<TV, TOps>(int* columns, float* values, int n, float* x, float* dyT, nint ld, float* target, float* sums, bool firstPiece, int vectors)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        for (int v = 0; v < vectors; v++)
        {
            TOps.Store(TOps.Create(0f), target + (v * c));
        }

        for (int e = 0; e < n; e++)
        {
            float* d = dyT + (columns[e] * ld);
            TV w = TOps.Create(values[e]);
            TV s = TOps.Mul(TOps.Load(d), TOps.Load(x));
            TOps.Store(TOps.Fma(w, TOps.Load(d), TOps.Load(target)), target);
            for (int v = 1; v < vectors; v++)
            {
                TV dv = TOps.Load(d + (v * c));
                TOps.Store(TOps.Fma(w, dv, TOps.Load(target + (v * c))), target + (v * c));
                s = TOps.Fma(dv, TOps.Load(x + (v * c)), s);
            }

            sums[e] = firstPiece ? Reduce(s) : sums[e] + Reduce(s);
        }
    }
}
