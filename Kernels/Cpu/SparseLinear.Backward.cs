using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>The backward pass in one sweep: the input gradient (SpMM with W's transpose) and the weight gradient (SDDMM) together.</summary>
public static unsafe partial class SparseLinear
{
    private static void RunBackward(
        SparseRows weight, SparseRows transposed, ReadOnlySpan<float> xT, ReadOnlySpan<float> dy, int batch, Span<float> dx,
        Span<float> weightGradValues, Span<float> weightGrad)
    {
        if (weight.Columns == 0 || batch == 0 || weight.Rows == 0)
        {
            // No input features, no output features (then no entries either) or no batch: dx is 0, every dW is 0.
            dx.Clear();
            weightGradValues.Clear();
            weightGrad.Clear();
            return;
        }

        // dW is summed in the transpose's entry order, where each thread's entries are one contiguous run it streams
        // through once per piece of the batch, each half of the batch into sums of its own (see BatchHalves), then
        // added and put into W's order.
        int padded = PaddedBatch(batch), halves = BatchHalves(padded);
        float[] sums = ArrayPool<float>.Shared.Rent(Math.Max(weight.Count * halves, 1));
        try
        {
            fixed (int* rs = transposed.RowStarts, ci = transposed.ColumnIndices, ps = transposed.PartStarts, slots = transposed.SourceSlots)
            fixed (float* v = transposed.Values, px = xT, pdy = dy, pdx = dx, pt = sums, pw = weightGradValues)
            {
                int width = SelectWidth();
                var work = new BackwardWork(
                    rs, ci, v, ps, transposed.PartCount, slots, px, new Layout(batch, weight.Columns, width), pdy, weight.Rows, batch, padded,
                    dx.IsEmpty ? null : pdx, weight.Columns, pt, weight.Count, halves, pw);
                int parts = (long)weight.Count * padded < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
                KernelWorkers.RunRanges(work, halves * transposed.PartCount, parts);
                if (halves == 2)
                {
                    KernelWorkers.RunRanges(new AddHalvesWork(rs, ps, slots, pt, weight.Count, pw), transposed.PartCount, parts);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(sums);
        }

        if (!weightGrad.IsEmpty)
        {
            weight.Scatter(weightGradValues, weightGrad);
        }
    }

    /// <summary>
    /// Units of W's transpose (rows = input features i, entries (i, o) with value W[o, i]) numbered half-major: unit u
    /// is the rows of part u % parts over half u / parts of the batch (<see cref="BatchHalves"/>), so contiguous ranges
    /// of units split the batch first and a thread transposes only its half of dy. Within a unit, piece by piece of
    /// the batch, the thread first transposes the piece's rows of dy (all outputs) into its own buffer, which then
    /// stays in its L2 while every row reads it; for each row, xT's piece of the row stays in registers while the
    /// entries stream the buffer's row o, which serves both dx[·, i] += W[o, i]·dy[·, o] (one FMA chain per lane in
    /// entry order, as <see cref="Multiply"/> with the transpose) and dW[o, i] += Σ dy[·, o]·x[·, i] (the sum of
    /// <see cref="SampledProduct"/>, piece by piece, into the half's own sums). Each dW value of a half is summed by
    /// one thread, and the halves are added afterwards (<see cref="AddHalvesWork"/>). Transposing per thread reads
    /// dy's half once per thread working on it but writes nothing to memory, where a shared transposed copy was
    /// written out and read back by each thread. The 16-row groups of dx pass through the scratch into the row-major
    /// dx, as in <see cref="Multiply"/>; without dx (a first layer) only the sums are made.
    /// </summary>
    private readonly struct BackwardWork(
        int* rowStarts, int* columns, float* values, int* partStarts, int partCount, int* slots, float* xT, Layout xLayout, float* dy, int outputs,
        int batch, int padded, float* dx, int inputs, float* sums, int count, int halves, float* gradValues) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int unit = start; unit < end;)
            {
                int half = unit / partCount, partEnd = Math.Min(partCount, end - (half * partCount)), part = unit - (half * partCount);

                // All of the parts' rows per piece of the batch, so the piece of dy is read from L2 by all of them before
                // the next piece is made; the part boundaries are multiples of 16 rows.
                int first = partStarts[part], last = partStarts[partEnd];
                var (from, to) = HalfColumns(padded, halves, half);
                float* halfSums = sums + ((nint)half * count);
                switch (xLayout.Width)
                {
                    case 16: Part<Vector512<float>, Ops512>(first, last, from, to, halfSums); break;
                    case 8: Part<Vector256<float>, Ops256>(first, last, from, to, halfSums); break;
                    case 4: Part<Vector128<float>, Ops128>(first, last, from, to, halfSums); break;
                    default: Part<float, OpsScalar>(first, last, from, to, halfSums); break;
                }

                if (halves == 1)
                {
                    PutInWeightOrder(rowStarts, slots, first, last, sums, null, gradValues, count);
                }

                unit = (half * partCount) + partEnd;
            }
        }

        private void Part<TV, TOps>(int first, int last, int from, int to, float* halfSums)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int count = TOps.Count, pv = Math.Min(4, xLayout.Tile / count), piece = pv * count;
            nint ldx = xLayout.Tile;
            float* scratch = Scratch();
            float* dPiece = PieceBuffer((long)outputs * piece);
            for (int col = from; col < to; col += piece)
            {
                float* xPiece = xT + xLayout.Offset(col / count);
                bool firstPiece = col == from;

                // At narrow widths the last pieces can lie wholly in the padding: they are all zeros (and still summed, as
                // the sampled product sums them).
                TransposePiece(dy + ((nint)col * outputs), Math.Clamp(batch - col, 0, piece), outputs, dPiece, piece, count);
                for (int g = first; g < last; g += SparseRows.RowGroup)
                {
                    int groupRows = Math.Min(SparseRows.RowGroup, last - g);
                    for (int r = 0; r < groupRows; r++)
                    {
                        int s = rowStarts[g + r], n = rowStarts[g + r + 1] - s;
                        float* x = xPiece + ((g + r) * ldx), target = scratch + (r * piece);
                        if (dx == null)
                        {
                            RowSums<TV, TOps>(columns + s, n, x, dPiece, piece, halfSums + s, firstPiece, pv);
                        }
                        else if (pv == 4)
                        {
                            Row4Both<TV, TOps>(columns + s, values + s, n, x, dPiece, piece, target, halfSums + s, firstPiece);
                        }
                        else
                        {
                            RowBoth<TV, TOps>(columns + s, values + s, n, x, dPiece, piece, target, halfSums + s, firstPiece, pv);
                        }
                    }

                    if (dx != null)
                    {
                        TransposeBlock(scratch, piece, groupRows, Math.Clamp(batch - col, 0, piece), dx + (col * inputs) + g, inputs, count);
                    }
                }
            }
        }
    }

    /// <summary>The dW of the two halves of the batch added (first half + second), for some parts of the transpose, and put into W's order.</summary>
    private readonly struct AddHalvesWork(int* rowStarts, int* partStarts, int* slots, float* sums, int count, float* gradValues) : IRangeWork
    {
        public void Run(int start, int end) => PutInWeightOrder(rowStarts, slots, partStarts[start], partStarts[end], sums, sums + count, gradValues, count);
    }

    /// <summary>target[slots[e]] = sums[e] (+ second[e] when given) for the entries of the transpose's rows [first, last): dW into W's entry order.</summary>
    private static void PutInWeightOrder(int* rowStarts, int* slots, int first, int last, float* sums, float* second, float* target, int count) =>
        SparseRows.ScatterSlots(slots, sums, second, target, rowStarts[first], rowStarts[last], count);

    [ThreadStatic]
    private static float[]? pieceStore;

    /// <summary>How far ahead along a row of dy (floats) <see cref="TransposePiece"/> asks for the next lines.</summary>
    private const int PrefetchAhead = 128;

    /// <summary>This thread's buffer for a transposed piece of dy, at least <paramref name="floats"/> long, pinned and 64-byte aligned.</summary>
    private static float* PieceBuffer(long floats) => ThreadBuffer.Aligned(ref pieceStore, floats);

    /// <summary>
    /// target[o·piece + b] = source[b·outputs + o] for the <paramref name="rows"/> rows of a piece of dy (all outputs),
    /// and zero for b from rows up to <paramref name="piece"/> (the padding of the batch): whole 8×8 squares eight rows
    /// at a time where AVX is there and the width is at least 8, 16×16 blocks for the rest.
    /// </summary>
    private static void TransposePiece(float* source, int rows, int outputs, float* target, int piece, int width)
    {
        int r = 0;
        if (width >= 8 && Avx.IsSupported)
        {
            // Whole 8×8 squares, 8 rows (8 streams of dy) at a time, each row's line asked for a few squares ahead.
            int fullOutputs = outputs & ~7;
            for (; r + 8 <= rows; r += 8)
            {
                float* block = source + ((nint)r * outputs);
                for (int o = 0; o < fullOutputs; o += 8)
                {
                    if ((o & 15) == 0 && o + PrefetchAhead < outputs)
                    {
                        for (int i = 0; i < 8; i++)
                        {
                            Sse.Prefetch0(block + ((nint)i * outputs) + o + PrefetchAhead);
                        }
                    }

                    Sgemm.Transpose8x8(block + o, outputs, target + ((nint)o * piece) + r, piece);
                }

                if (fullOutputs < outputs)
                {
                    TransposeBlock(block + fullOutputs, outputs, 8, outputs - fullOutputs, target + ((nint)fullOutputs * piece) + r, piece, width);
                }
            }
        }

        for (; r < rows; r += SparseRows.RowGroup)
        {
            int blockRows = Math.Min(SparseRows.RowGroup, rows - r);
            for (int o = 0; o < outputs; o += SparseRows.RowGroup)
            {
                TransposeBlock(source + ((nint)r * outputs) + o, outputs, blockRows, Math.Min(SparseRows.RowGroup, outputs - o), target + ((nint)o * piece) + r, piece, width);
            }
        }

        if (rows < piece)
        {
            for (int o = 0; o < outputs; o++)
            {
                new Span<float>(target + ((nint)o * piece) + rows, piece - rows).Clear();
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
        int e = 0;
        if (JointReduction<TV>())
        {
            // Four entries at a time, their four sums reduced together (the same additions as Reduce, in one register).
            for (; e + 4 <= n; e += 4)
            {
                TV s0 = Entry<TV, TOps>(dyT + (columns[e] * ld), values[e], x0, x1, x2, x3, ref a0, ref a1, ref a2, ref a3);
                TV s1 = Entry<TV, TOps>(dyT + (columns[e + 1] * ld), values[e + 1], x0, x1, x2, x3, ref a0, ref a1, ref a2, ref a3);
                TV s2 = Entry<TV, TOps>(dyT + (columns[e + 2] * ld), values[e + 2], x0, x1, x2, x3, ref a0, ref a1, ref a2, ref a3);
                TV s3 = Entry<TV, TOps>(dyT + (columns[e + 3] * ld), values[e + 3], x0, x1, x2, x3, ref a0, ref a1, ref a2, ref a3);
                var r = Reduce4(s0, s1, s2, s3);
                Vector128.Store(firstPiece ? r : Vector128.Load(sums + e) + r, sums + e);
            }
        }

        for (; e < n; e++)
        {
            TV s = Entry<TV, TOps>(dyT + (columns[e] * ld), values[e], x0, x1, x2, x3, ref a0, ref a1, ref a2, ref a3);
            sums[e] = firstPiece ? Reduce(s) : sums[e] + Reduce(s);
        }

        TOps.Store(a0, target);
        TOps.Store(a1, target + c);
        TOps.Store(a2, target + (2 * c));
        TOps.Store(a3, target + (3 * c));
    }

    /// <summary>
    /// One entry of <see cref="Row4Both"/>: dx's four accumulators take w·dyT's piece of the entry's row, and the
    /// returned vector holds the products of that piece with the row's piece of xT, for its dW sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Entry<TV, TOps>(float* d, float weight, TV x0, TV x1, TV x2, TV x3, ref TV a0, ref TV a1, ref TV a2, ref TV a3)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        TV w = TOps.Create(weight);
        TV d0 = TOps.Load(d), d1 = TOps.Load(d + c), d2 = TOps.Load(d + (2 * c)), d3 = TOps.Load(d + (3 * c));
        a0 = TOps.Fma(w, d0, a0);
        a1 = TOps.Fma(w, d1, a1);
        a2 = TOps.Fma(w, d2, a2);
        a3 = TOps.Fma(w, d3, a3);
        return TOps.Fma(d3, x3, TOps.Fma(d2, x2, TOps.Fma(d1, x1, TOps.Mul(d0, x0))));
    }

    /// <summary>Whether <see cref="Reduce4{TV}"/> serves vectors of this type on this machine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool JointReduction<TV>()
        where TV : struct =>
        (typeof(TV) == typeof(Vector512<float>) && Avx512F.IsSupported) || (typeof(TV) == typeof(Vector256<float>) && Avx2.IsSupported);

    /// <summary>
    /// <see cref="Reduce{TV}"/> of four vectors at once, [r0, r1, r2, r3]: each step of the tree (halves down to 4 lanes,
    /// then (l0 + l2) + (l1 + l3)) adds the same lanes in the same order as the one-vector reduction, the four vectors'
    /// lanes side by side, so every sum has the same bits; at AVX-512 13 instructions where four reductions take 32, at
    /// AVX2 12 where they take 24. Only for the types <see cref="JointReduction{TV}"/> accepts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4<TV>(TV v0, TV v1, TV v2, TV v3)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var (s0, s1, s2, s3) = ((Vector512<float>)(object)v0, (Vector512<float>)(object)v1, (Vector512<float>)(object)v2, (Vector512<float>)(object)v3);

            // Lower 256 bits + upper: [y0 | y1] and [y2 | y3], 8 lanes each.
            var y01 = Avx512F.Shuffle4x128(s0, s1, 0x44) + Avx512F.Shuffle4x128(s0, s1, 0xEE);
            var y23 = Avx512F.Shuffle4x128(s2, s3, 0x44) + Avx512F.Shuffle4x128(s2, s3, 0xEE);

            // Lower 128 bits + upper: [x0 | x1 | x2 | x3], 4 lanes each.
            var x = Avx512F.Shuffle4x128(y01, y23, 0x88) + Avx512F.Shuffle4x128(y01, y23, 0xDD);

            // (l0 + l2, l1 + l3), then their sum, in lane 0 of each 128-bit quarter.
            var pairs = x + Avx512F.Permute4x32(x, 0xEE);
            var sums = pairs + Avx512F.Permute4x32(pairs, 0xF5);
            return Avx512F.PermuteVar16x32(sums, Vector512.Create(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().GetLower();
        }
        else
        {
            var (s0, s1, s2, s3) = ((Vector256<float>)(object)v0, (Vector256<float>)(object)v1, (Vector256<float>)(object)v2, (Vector256<float>)(object)v3);

            // Lower 128 bits + upper: [x0 | x1] and [x2 | x3].
            var x01 = Avx.Permute2x128(s0, s1, 0x20) + Avx.Permute2x128(s0, s1, 0x31);
            var x23 = Avx.Permute2x128(s2, s3, 0x20) + Avx.Permute2x128(s2, s3, 0x31);
            var p01 = x01 + Avx.Permute(x01, 0xEE);
            var p23 = x23 + Avx.Permute(x23, 0xEE);
            var r01 = p01 + Avx.Permute(p01, 0xF5);
            var r23 = p23 + Avx.Permute(p23, 0xF5);

            // [r0, r0, r2, r2 | r1, r1, r3, r3], then [r0, r1, r2, r3].
            var t = Avx.Shuffle(r01, r23, 0x00);
            return Avx2.PermuteVar8x32(t, Vector256.Create(0, 4, 2, 6, 0, 0, 0, 0)).GetLower();
        }
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

    /// <summary>The dW sums of one row of the transpose over a piece of 1 to 4 vectors, without dx (a first layer): the products of <see cref="Row4Both"/>.</summary>
    private static void RowSums<TV, TOps>(int* columns, int n, float* x, float* dyT, nint ld, float* sums, bool firstPiece, int vectors)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int c = TOps.Count;
        if (vectors == 4)
        {
            TV x0 = TOps.Load(x), x1 = TOps.Load(x + c), x2 = TOps.Load(x + (2 * c)), x3 = TOps.Load(x + (3 * c));
            int e = 0;
            if (JointReduction<TV>())
            {
                for (; e + 4 <= n; e += 4)
                {
                    float* d0 = dyT + (columns[e + 0] * ld);
                    TV s0 = TOps.Fma(TOps.Load(d0 + (3 * c)), x3, TOps.Fma(TOps.Load(d0 + (2 * c)), x2, TOps.Fma(TOps.Load(d0 + c), x1, TOps.Mul(TOps.Load(d0), x0))));
                    float* d1 = dyT + (columns[e + 1] * ld);
                    TV s1 = TOps.Fma(TOps.Load(d1 + (3 * c)), x3, TOps.Fma(TOps.Load(d1 + (2 * c)), x2, TOps.Fma(TOps.Load(d1 + c), x1, TOps.Mul(TOps.Load(d1), x0))));
                    float* d2 = dyT + (columns[e + 2] * ld);
                    TV s2 = TOps.Fma(TOps.Load(d2 + (3 * c)), x3, TOps.Fma(TOps.Load(d2 + (2 * c)), x2, TOps.Fma(TOps.Load(d2 + c), x1, TOps.Mul(TOps.Load(d2), x0))));
                    float* d3 = dyT + (columns[e + 3] * ld);
                    TV s3 = TOps.Fma(TOps.Load(d3 + (3 * c)), x3, TOps.Fma(TOps.Load(d3 + (2 * c)), x2, TOps.Fma(TOps.Load(d3 + c), x1, TOps.Mul(TOps.Load(d3), x0))));
                    var r = Reduce4(s0, s1, s2, s3);
                    Vector128.Store(firstPiece ? r : Vector128.Load(sums + e) + r, sums + e);
                }
            }

            for (; e < n; e++)
            {
                float* d = dyT + (columns[e] * ld);
                TV s = TOps.Mul(TOps.Load(d), x0);
                s = TOps.Fma(TOps.Load(d + c), x1, s);
                s = TOps.Fma(TOps.Load(d + (2 * c)), x2, s);
                s = TOps.Fma(TOps.Load(d + (3 * c)), x3, s);
                sums[e] = firstPiece ? Reduce(s) : sums[e] + Reduce(s);
            }

            return;
        }

        for (int e = 0; e < n; e++)
        {
            float* d = dyT + (columns[e] * ld);
            TV s = TOps.Mul(TOps.Load(d), TOps.Load(x));
            for (int v = 1; v < vectors; v++)
            {
                s = TOps.Fma(TOps.Load(d + (v * c)), TOps.Load(x + (v * c)), s);
            }

            sums[e] = firstPiece ? Reduce(s) : sums[e] + Reduce(s);
        }
    }
}
