using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The weight gradient at the kept taps only (a sampled product, SDDMM-like).</summary>
public static unsafe partial class SparseConvolution
{
    /// <summary>The most chunks of images the batch is summed in: one per unit of parallel work.</summary>
    private const int MaxImageChunks = 8;

    /// <summary>
    /// The most bytes the chunks' partial sums (one vector per kept weight per chunk) may take: a wide, dense-ish layer
    /// gets fewer chunks (less parallelism) rather than a workspace of hundreds of megabytes.
    /// </summary>
    private const long PartialBytes = 32L << 20;

    /// <summary>
    /// dW at the kept taps: for each entry (o, c·KH·KW + ky·KW + kx) of <paramref name="weight"/>,
    /// Σ_n Σ_i,j dy[n,o,i,j]·x[n,c,i+ky−PH,j+kx−PW] (terms outside x dropped), the gradient of <see cref="Forward"/>
    /// with respect to that weight. Pruned taps are never computed.
    /// </summary>
    /// <param name="weight">W's CSR form: the taps to compute (its values are not read).</param>
    /// <param name="x">The input [N,C,H,W] of the forward pass.</param>
    /// <param name="dy">The output gradient [N,O,OH,OW].</param>
    /// <param name="s">The shape; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="values">The gradient of each entry, in entry order (weight.Count values), overwritten.</param>
    /// <param name="dense">Empty, or the dense gradient [O,C,KH,KW] to overwrite: the values at their taps, 0 elsewhere.</param>
    /// <exception cref="ArgumentException">The shape is not supported, the weight does not match it, a span has the wrong length, or an output overlaps an input.</exception>
    public static void WeightGrad(SparseRows weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ConvShape s, Span<float> values, Span<float> dense) =>
        WeightGrad(weight, x, dy, [], s, values, dense, []);

    /// <summary>
    /// <see cref="WeightGrad(SparseRows, ReadOnlySpan{float}, ReadOnlySpan{float}, ConvShape, Span{float}, Span{float})"/>
    /// through a ReLU, and the bias gradient with it: dy is taken as 0 wherever <paramref name="reluOutput"/> (the
    /// forward's output after its ReLU) is not positive, as the ReLU's own gradient would make it, and
    /// <paramref name="biasGrad"/> receives each output channel's sum of that (masked) dy over images and positions,
    /// from the same pass over dy that the weight gradient makes, so neither the masked gradient nor a second pass
    /// over it is needed. The weight gradient has the bits of the unmasked call on the masked dy. Each bias value is
    /// summed image by image in order; an image's plane is summed in vectors of the SIMD width along its rows (padded
    /// with zeros to whole vectors), the vector's lanes then added in a fixed order.
    /// </summary>
    /// <param name="weight">W's CSR form: the taps to compute (its values are not read).</param>
    /// <param name="x">The input [N,C,H,W] of the forward pass.</param>
    /// <param name="dy">The output gradient [N,O,OH,OW], before the ReLU's mask.</param>
    /// <param name="reluOutput">Empty (no mask), or the forward's output [N,O,OH,OW].</param>
    /// <param name="s">The shape; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="values">The gradient of each entry, in entry order (weight.Count values), overwritten.</param>
    /// <param name="dense">Empty, or the dense gradient [O,C,KH,KW] to overwrite: the values at their taps, 0 elsewhere.</param>
    /// <param name="biasGrad">Empty, or O floats to overwrite with the bias gradient.</param>
    /// <exception cref="ArgumentException">The shape is not supported, the weight does not match it, a span has the wrong length, or an output overlaps an input.</exception>
    public static void WeightGrad(
        SparseRows weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput, ConvShape s, Span<float> values, Span<float> dense,
        Span<float> biasGrad)
    {
        const string op = "sparse conv weight grad";
        ArgumentNullException.ThrowIfNull(weight);
        CheckShape(op, s, x.Length, dy.Length, "dy");
        CheckWeight(op, "weight", weight, s.O, s.Taps, s);
        CheckMask(op, s, reluOutput.Length);
        if (!biasGrad.IsEmpty && biasGrad.Length != s.O)
        {
            throw new ArgumentException($"{op} {s}: the bias gradient has {biasGrad.Length} elements for {s.O} output channels");
        }
        if (values.Length != weight.Count)
        {
            throw new ArgumentException($"{op} {s}: values has {values.Length} elements for {weight.Count} kept weights");
        }

        if (!dense.IsEmpty && dense.Length != s.O * s.Taps)
        {
            throw new ArgumentException($"{op} {s}: dense has {dense.Length} elements, expected {s.O * s.Taps} (or none)");
        }

        x = x[..(s.N * s.C * s.H * s.W)];
        dy = dy[..(s.N * s.O * s.Positions)];
        if (!reluOutput.IsEmpty)
        {
            reluOutput = reluOutput[..dy.Length];
        }

        if (values.Overlaps(x) || values.Overlaps(dy) || dense.Overlaps(x) || dense.Overlaps(dy) || dense.Overlaps(values)
            || values.Overlaps(reluOutput) || dense.Overlaps(reluOutput) || biasGrad.Overlaps(x) || biasGrad.Overlaps(dy) || biasGrad.Overlaps(reluOutput)
            || biasGrad.Overlaps(values) || biasGrad.Overlaps(dense))
        {
            throw new ArgumentException($"{op} {s}: an output overlaps an input or another output");
        }

        if (s.N == 0 || (weight.Count == 0 && biasGrad.IsEmpty))
        {
            values.Clear();
            biasGrad.Clear();
        }
        else
        {
            float[]? planeSums = biasGrad.IsEmpty ? null : System.Buffers.ArrayPool<float>.Shared.Rent(s.N * s.O);
            try
            {
                fixed (float* px = x, pdy = dy, pm = reluOutput, pv = values, pp = planeSums)
                {
                    RunWeightGrad(weight, px, pdy, pm, s, pv, pp);
                }

                if (planeSums != null)
                {
                    AddPlaneSums(planeSums, s, biasGrad);
                }
            }
            finally
            {
                if (planeSums != null)
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(planeSums);
                }
            }
        }

        if (!dense.IsEmpty)
        {
            weight.ScatterRows(values, dense, 0, weight.Rows);
        }
    }

    /// <summary>
    /// The bias gradient alone, for a layer whose weight takes no gradient: each output channel's sum of dy (masked by
    /// <paramref name="reluOutput"/> when given) over images and positions, with the bits
    /// <see cref="WeightGrad(SparseRows, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ConvShape, Span{float}, Span{float}, Span{float})"/>
    /// gives it beside the weight gradient.
    /// </summary>
    /// <param name="dy">The output gradient [N,O,OH,OW], before the ReLU's mask.</param>
    /// <param name="reluOutput">Empty (no mask), or the forward's output [N,O,OH,OW].</param>
    /// <param name="s">The shape; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="biasGrad">O floats, overwritten.</param>
    /// <exception cref="ArgumentException">The shape is not supported or a span has the wrong length.</exception>
    public static void BiasGrad(ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput, ConvShape s, Span<float> biasGrad)
    {
        const string op = "sparse conv bias grad";
        if (!Supports(s))
        {
            throw new ArgumentException($"{op}: the shape is not supported (stride 1 only): {s}");
        }

        if (dy.Length < (long)s.N * s.O * s.Positions)
        {
            throw new ArgumentException($"{op} {s}: dy has {dy.Length} elements, expected {(long)s.N * s.O * s.Positions}");
        }

        CheckMask(op, s, reluOutput.Length);
        if (biasGrad.Length != s.O)
        {
            throw new ArgumentException($"{op} {s}: the bias gradient has {biasGrad.Length} elements for {s.O} output channels");
        }

        if (s.N == 0)
        {
            biasGrad.Clear();
            return;
        }

        float[] planeSums = System.Buffers.ArrayPool<float>.Shared.Rent(s.N * s.O);
        try
        {
            fixed (float* pdy = dy, pm = reluOutput, pp = planeSums)
            {
                int width = SelectWidth(s.OW), outRow = (s.OW + width - 1) / width * width;
                int parts = (long)s.N * s.O * s.Positions < SparseLinear.ParallelThreshold ? 1 : KernelWorkers.MaxParts;
                KernelWorkers.RunRanges(new BiasWork(s, pdy, reluOutput.IsEmpty ? null : pm, pp, width, outRow), s.N, parts);
            }

            AddPlaneSums(planeSums, s, biasGrad);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(planeSums);
        }
    }

    /// <summary>biasGrad[o] = Σ over images n, in order, of planeSums[n·O + o].</summary>
    private static void AddPlaneSums(float[] planeSums, ConvShape s, Span<float> biasGrad)
    {
        for (int o = 0; o < s.O; o++)
        {
            float sum = 0f;
            for (int n = 0; n < s.N; n++)
            {
                sum += planeSums[(n * s.O) + o];
            }

            biasGrad[o] = sum;
        }
    }

    /// <summary>Images of <see cref="BiasGrad"/>: each bordered (and masked) into the thread's workspace as the weight gradient borders it, then its planes summed.</summary>
    private readonly struct BiasWork(ConvShape s, float* dy, float* mask, float* planeSums, int width, int outRow) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int n = start; n < end; n++)
            {
                switch (width)
                {
                    case 16: Image<Vector512<float>, Ops512>(n); break;
                    case 8: Image<Vector256<float>, Ops256>(n); break;
                    case 4: Image<Vector128<float>, Ops128>(n); break;
                    default: Image<float, OpsScalar>(n); break;
                }
            }
        }

        private void Image<TV, TOps>(int n)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            nint dyPlane = (nint)s.OH * outRow;
            BorderedGrad<TV, TOps>(dy, mask, s, n, SecondScratch(s.O * dyPlane), outRow, planeSums);
        }
    }

    /// <summary>
    /// Image <paramref name="n"/> of dy bordered into <paramref name="grad"/> (rows of <paramref name="outRow"/>, zeros
    /// after OW), masked where <paramref name="mask"/> is given, and its planes' sums into planeSums[n·O …] where that
    /// is given: one step that the weight gradient and <see cref="BiasGrad"/> share, so both give the same bias bits.
    /// </summary>
    private static void BorderedGrad<TV, TOps>(float* dy, float* mask, ConvShape s, int n, float* grad, int outRow, float* planeSums)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        nint at = (nint)n * s.O * s.Positions;
        Border(dy + at, mask == null ? null : mask + at, s.O, s.OH, s.OW, 0, 0, grad, s.OH, outRow);
        if (planeSums != null)
        {
            PlaneSums<TV, TOps>(grad, s.O, (nint)s.OH * outRow, planeSums + ((nint)n * s.O));
        }
    }

    private static void RunWeightGrad(SparseRows weight, float* x, float* dy, float* mask, ConvShape s, float* values, float* planeSums)
    {
        // x is bordered to rows of OWr + KW − 1 (OWr: the output width rounded up to whole vectors) and dy, where
        // OW is not a whole number of vectors, to rows of OWr with zeros after OW: every dot product then runs in
        // whole vectors, its padding lanes multiplying zeros.
        int width = SelectWidth(s.OW), rowVectors = (s.OW + width - 1) / width, outRow = rowVectors * width;
        int xRow = outRow + s.KW - 1, xRows = s.OH + s.KH - 1, xPlane = xRow * xRows, slots = s.OH * rowVectors;
        int count = weight.Count;
        int chunks = (int)Math.Clamp(PartialBytes / Math.Max((long)count * width * sizeof(float), 1), 1, Math.Min(s.N, MaxImageChunks));
        int kk = s.KH * s.KW;
        int[] ints = System.Buffers.ArrayPool<int>.Shared.Rent(count + slots);
        float[] partial = System.Buffers.ArrayPool<float>.Shared.Rent((chunks * count * width) + 16);
        try
        {
            var columns = weight.ColumnIndices;
            for (int e = 0; e < count; e++)
            {
                int column = columns[e], c = column / kk, t = column - (c * kk), ky = t / s.KW, kx = t - (ky * s.KW);
                ints[e] = (c * xPlane) + (ky * xRow) + kx;
            }

            for (int r = 0, at = count; r < s.OH; r++)
            {
                for (int v = 0; v < rowVectors; v++)
                {
                    ints[at++] = (r * xRow) + (v * width);
                }
            }

            fixed (int* rs = weight.RowStarts, pi = ints)
            fixed (float* pp = partial)
            {
                var work = new WeightGradWork(s, rs, pi, pi + count, slots, x, dy, mask, planeSums, pp, count, chunks, width, xRow, xRows, outRow);
                int parts = Math.Max((long)count, planeSums == null ? 0 : 1) * s.N * s.Positions < SparseLinear.ParallelThreshold ? 1 : KernelWorkers.BalancedParts;
                KernelWorkers.RunRanges(work, chunks, parts);
                switch (width)
                {
                    case 16: Reduce<Vector512<float>, Ops512>(pp, count, chunks, values); break;
                    case 8: Reduce<Vector256<float>, Ops256>(pp, count, chunks, values); break;
                    case 4: Reduce<Vector128<float>, Ops128>(pp, count, chunks, values); break;
                    default: Reduce<float, OpsScalar>(pp, count, chunks, values); break;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(ints);
            System.Buffers.ArrayPool<float>.Shared.Return(partial);
        }
    }

    /// <summary>values[e] = the lanes of Σ over chunks (in order) of chunk k's partial vector of entry e, summed.</summary>
    private static void Reduce<TV, TOps>(float* partial, int count, int chunks, float* values)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        nint chunkStride = (nint)count * w;
        for (int e = 0; e < count; e++)
        {
            float* p = partial + ((nint)e * w);
            TV sum = TOps.Load(p);
            for (int k = 1; k < chunks; k++)
            {
                sum = TOps.Add(sum, TOps.Load(p + (k * chunkStride)));
            }

            values[e] = TOps.Sum(sum);
        }
    }

    /// <summary>
    /// Chunk k of the batch (images N·k/chunks to N·(k+1)/chunks, fixed by the batch size alone): image by image,
    /// borders x (and dy) into the thread's workspaces, then adds each entry's products over the image to the
    /// chunk's partial vector of that entry, eight (or four) entries of an output channel at a time sharing the loads
    /// of its dy plane.
    /// </summary>
    private readonly struct WeightGradWork(
        ConvShape s, int* rowStarts, int* offsets, int* slotX, int slots, float* x, float* dy, float* mask, float* planeSums, float* partial, int count,
        int chunks, int width, int xRow, int xRows, int outRow) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int k = start; k < end; k++)
            {
                switch (width)
                {
                    case 16: Chunk<Vector512<float>, Ops512>(k); break;
                    case 8: Chunk<Vector256<float>, Ops256>(k); break;
                    case 4: Chunk<Vector128<float>, Ops128>(k); break;
                    default: Chunk<float, OpsScalar>(k); break;
                }
            }
        }

        private void Chunk<TV, TOps>(int k)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            int w = TOps.Count, n0 = (int)((long)s.N * k / chunks), n1 = (int)((long)s.N * (k + 1) / chunks);
            nint dyPlane = (nint)s.OH * outRow;
            float* image = ImageScratch((long)s.C * xRows * xRow);
            float* grad = outRow == s.OW && mask == null && planeSums == null ? null : SecondScratch(s.O * dyPlane);
            float* acc = partial + ((nint)k * count * w);
            for (int n = n0; n < n1; n++)
            {
                Border(x + ((nint)n * s.C * s.H * s.W), null, s.C, s.H, s.W, s.PH, s.PW, image, xRows, xRow);
                float* dyImage = dy + ((nint)n * s.O * s.Positions);
                if (grad != null)
                {
                    BorderedGrad<TV, TOps>(dy, mask, s, n, grad, outRow, planeSums);
                    dyImage = grad;
                }

                bool first = n == n0;
                for (int o = 0; o < s.O; o++)
                {
                    float* d = dyImage + (o * dyPlane);
                    int e = rowStarts[o], e1 = rowStarts[o + 1];
                    for (; e + 8 <= e1; e += 8)
                    {
                        Dot8<TV, TOps>(d, slotX, slots, image, offsets + e, acc + ((nint)e * w), first);
                    }

                    for (; e + 4 <= e1; e += 4)
                    {
                        Dot4<TV, TOps>(d, slotX, slots, image, offsets + e, acc + ((nint)e * w), first);
                    }

                    for (; e < e1; e++)
                    {
                        Dot1<TV, TOps>(d, slotX, slots, image + offsets[e], acc + ((nint)e * w), first);
                    }
                }
            }
        }
    }

    /// <summary>
    /// sums[o] = the sum of plane o of the bordered output gradient (rows padded with zeros to whole vectors): its
    /// vectors added in order into one, then the lanes reduced in a fixed order. The plane was just written, so it is
    /// read from cache.
    /// </summary>
    private static void PlaneSums<TV, TOps>(float* image, int planes, nint plane, float* sums)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        for (int o = 0; o < planes; o++)
        {
            float* p = image + (o * plane);
            TV sum = TOps.Create(0f);
            for (nint i = 0; i < plane; i += w)
            {
                sum = TOps.Add(sum, TOps.Load(p + i));
            }

            sums[o] = TOps.Sum(sum);
        }
    }

    /// <summary>Adds Σ_s dy[s·w…]·image[offsets[i] + slotX[s]…] to the partial vectors of four entries (or starts them with it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4<TV, TOps>(float* dy, int* slotX, int slots, float* image, int* offsets, float* acc, bool first)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        float* x0 = image + offsets[0], x1 = image + offsets[1], x2 = image + offsets[2], x3 = image + offsets[3];
        TV zero = TOps.Create(0f);
        TV s0 = first ? zero : TOps.Load(acc), s1 = first ? zero : TOps.Load(acc + w);
        TV s2 = first ? zero : TOps.Load(acc + (2 * w)), s3 = first ? zero : TOps.Load(acc + (3 * w));
        for (int s = 0; s < slots; s++)
        {
            nint at = slotX[s];
            TV d = TOps.Load(dy + ((nint)s * w));
            s0 = TOps.Fma(d, TOps.Load(x0 + at), s0);
            s1 = TOps.Fma(d, TOps.Load(x1 + at), s1);
            s2 = TOps.Fma(d, TOps.Load(x2 + at), s2);
            s3 = TOps.Fma(d, TOps.Load(x3 + at), s3);
        }

        TOps.Store(s0, acc);
        TOps.Store(s1, acc + w);
        TOps.Store(s2, acc + (2 * w));
        TOps.Store(s3, acc + (3 * w));
    }

    /// <summary><see cref="Dot4{TV, TOps}"/> for eight entries: one load of dy serves eight FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot8<TV, TOps>(float* dy, int* slotX, int slots, float* image, int* offsets, float* acc, bool first)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        float* x0 = image + offsets[0], x1 = image + offsets[1], x2 = image + offsets[2], x3 = image + offsets[3];
        nint d4 = offsets[4] - offsets[0], d5 = offsets[5] - offsets[0], d6 = offsets[6] - offsets[0], d7 = offsets[7] - offsets[0];
        TV zero = TOps.Create(0f);
        TV s0 = first ? zero : TOps.Load(acc), s1 = first ? zero : TOps.Load(acc + w);
        TV s2 = first ? zero : TOps.Load(acc + (2 * w)), s3 = first ? zero : TOps.Load(acc + (3 * w));
        TV s4 = first ? zero : TOps.Load(acc + (4 * w)), s5 = first ? zero : TOps.Load(acc + (5 * w));
        TV s6 = first ? zero : TOps.Load(acc + (6 * w)), s7 = first ? zero : TOps.Load(acc + (7 * w));
        for (int s = 0; s < slots; s++)
        {
            nint at = slotX[s];
            TV d = TOps.Load(dy + ((nint)s * w));
            float* q = x0 + at;
            s0 = TOps.Fma(d, TOps.Load(q), s0);
            s1 = TOps.Fma(d, TOps.Load(x1 + at), s1);
            s2 = TOps.Fma(d, TOps.Load(x2 + at), s2);
            s3 = TOps.Fma(d, TOps.Load(x3 + at), s3);
            s4 = TOps.Fma(d, TOps.Load(q + d4), s4);
            s5 = TOps.Fma(d, TOps.Load(q + d5), s5);
            s6 = TOps.Fma(d, TOps.Load(q + d6), s6);
            s7 = TOps.Fma(d, TOps.Load(q + d7), s7);
        }

        TOps.Store(s0, acc);
        TOps.Store(s1, acc + w);
        TOps.Store(s2, acc + (2 * w));
        TOps.Store(s3, acc + (3 * w));
        TOps.Store(s4, acc + (4 * w));
        TOps.Store(s5, acc + (5 * w));
        TOps.Store(s6, acc + (6 * w));
        TOps.Store(s7, acc + (7 * w));
    }

    /// <summary>One entry of <see cref="Dot4{TV, TOps}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot1<TV, TOps>(float* dy, int* slotX, int slots, float* x0, float* acc, bool first)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        TV s0 = first ? TOps.Create(0f) : TOps.Load(acc);
        for (int s = 0; s < slots; s++)
        {
            s0 = TOps.Fma(TOps.Load(dy + ((nint)s * w)), TOps.Load(x0 + slotX[s]), s0);
        }

        TOps.Store(s0, acc);
    }
}
