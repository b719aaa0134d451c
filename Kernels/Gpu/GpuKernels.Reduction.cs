using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    // Reductions of `length` values into each of `outputs` results run in passes. A pass cuts each output's values
    // into `parts` chunks and reduces every chunk either in one group (a tree in shared memory: for long runs read
    // contiguously, or when there are too few outputs to keep the GPU busy) or in one thread (a sequential sum: for
    // many outputs, whose neighbours sit side by side in memory). Each pass with more than one part leaves a smaller
    // reduction of partial results for the next. The plan depends only on the shapes, so the order of every addition,
    // and with it every bit of the result, is the same at each launch.
    private const int ElementwiseSerialMax = 32;          // runs up to this long are summed by one thread
    private const int ElementwiseWarpOutputs = 32;        // this many side-by-side outputs fill a warp's loads
    private const int ElementwiseGroupWork = 8 * ReduceGroup; // at least this many values per group chunk
    private const int ElementwiseTargetGroups = 1024;     // enough groups to fill an H100's 132 multiprocessors
    private const int ElementwiseLaneWork = 32;           // at least this many values per thread chunk
    private const int ElementwiseTargetLanes = 1 << 16;   // enough threads to fill it

    private MemoryBuffer1D<float, Stride1D.Dense>? _elementwiseFloats;
    private MemoryBuffer1D<int, Stride1D.Dense>? _elementwiseInts;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, StridedShape, StridedShape, ElementwiseReduceArgs>? _elementwiseReduceLanes;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, StridedShape, StridedShape, ElementwiseReduceArgs>? _elementwiseReduceGroups;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _elementwiseSoftmax;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>? _elementwiseCrossEntropyRows;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, int>? _elementwiseArgMaxRows;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, int>? _elementwiseCountCorrect;

    /// <summary>
    /// Sums <paramref name="a"/> down to <paramref name="yShape"/>: every dimension of y (aligned on the right with
    /// a's, missing ones counting as 1) equals a's or is 1, and is summed over where it is 1. Deterministic: the sums
    /// are fixed-order chunks and trees set by the shapes alone, so repeated launches give the same bits (they may
    /// differ from the CPU's order in the last bits). A reduction over an empty dimension gives 0.
    /// </summary>
    /// <param name="a">The input, dense row-major of shape <paramref name="aShape"/>.</param>
    /// <param name="aShape">The shape of <paramref name="a"/> (rank ≤ 8).</param>
    /// <param name="y">The output, dense row-major of shape <paramref name="yShape"/>, not overlapping <paramref name="a"/>.</param>
    /// <param name="yShape">The shape of <paramref name="y"/> (rank ≤ 8, not above a's).</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a rank exceeds 8 or y is not a reduction of a.</exception>
    public void SumTo(ArrayView<float> a, ReadOnlySpan<int> aShape, ArrayView<float> y, ReadOnlySpan<int> yShape)
    {
        const string name = "gpu sum to";
        int n = StridedShape.Elements(name, "a", aShape, a.Length);
        int m = StridedShape.Elements(name, "y", yShape, y.Length);
        var (kept, summed) = StridedShape.Reduction(name, aShape, yShape);
        if (m == 0)
        {
            return;
        }

        ElementwiseReduce(a, kept, summed, m, n / m, y, max: false);
    }

    /// <summary>
    /// y[o, i] = max over j of a[o, j, i] for a seen as [outer, axis, inner]; NaN wins as in <see cref="Math.Max(float, float)"/>,
    /// and an empty axis gives −∞ (as the CPU's <see cref="Cpu.Reduction.MaxAlong"/>).
    /// </summary>
    /// <param name="a">The input, outer·axis·inner elements.</param>
    /// <param name="outer">The product of the dimensions before the axis.</param>
    /// <param name="axis">The size of the axis reduced.</param>
    /// <param name="inner">The product of the dimensions after the axis.</param>
    /// <param name="y">The output, outer·inner elements, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">A size is negative or a length does not match.</exception>
    public void MaxAlong(ArrayView<float> a, int outer, int axis, int inner, ArrayView<float> y)
    {
        const string name = "gpu max along";
        if (outer < 0 || axis < 0 || inner < 0 || (long)outer * axis * inner != a.Length || (long)outer * inner != y.Length)
        {
            throw new ArgumentException(
                $"{name}: [{outer}, {axis}, {inner}] needs a of {(long)outer * axis * inner} and y of {(long)outer * inner} elements, got {a.Length} and {y.Length}");
        }

        if (y.Length == 0)
        {
            return;
        }

        var (kept, summed) = StridedShape.Reduction(name, [outer, axis, inner], [outer, 1, inner]);
        ElementwiseReduce(a, kept, summed, outer * inner, axis, y, max: true);
    }

    /// <summary>
    /// Softmax (or log-softmax) of each row of <paramref name="a"/> seen as [rows, cols], stable for large values:
    /// e^(x − max) / Σ e^(x − max), or (x − max) − ln Σ e^(x − max). One group per row; the sums are trees, so the
    /// bits repeat from launch to launch.
    /// </summary>
    /// <param name="a">The input, rows·cols elements.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="cols">The length of each row.</param>
    /// <param name="y">The output, rows·cols elements; may be <paramref name="a"/> itself.</param>
    /// <param name="log">True for log-softmax.</param>
    /// <exception cref="ArgumentException">A size is negative or a length does not match.</exception>
    public void Softmax(ArrayView<float> a, int rows, int cols, ArrayView<float> y, bool log)
    {
        ElementwiseRows(log ? "gpu log softmax" : "gpu softmax", a, rows, cols);
        if (y.Length != a.Length)
        {
            throw new ArgumentException($"gpu softmax: a has {a.Length} elements but y {y.Length}");
        }

        if (a.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseSoftmax, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(ElementwiseSoftmaxKernel))(
            new KernelConfig(rows, ElementwiseRowGroup(cols)), a, y, cols, log ? 1 : 0);
    }

    /// <summary>
    /// result[0] = the mean over rows of −ln softmax(logits[r])[labels[r]], each row's term computed stably as
    /// (max − x[label]) + ln Σ e^(x − max), and the mean as a fixed-order sum divided by rows (deterministic); 0 for
    /// no rows. A label outside [0, cols) makes its row's term, and so the result, NaN (a kernel cannot throw).
    /// </summary>
    /// <param name="logits">The logits, rows·cols elements.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="cols">The number of classes, at least 1 when there are rows.</param>
    /// <param name="labels">The class of each row, rows elements.</param>
    /// <param name="result">The output: its first element receives the mean.</param>
    /// <exception cref="ArgumentException">A size is negative, a length does not match or result is empty.</exception>
    public void SoftmaxCrossEntropy(ArrayView<float> logits, int rows, int cols, ArrayView<int> labels, ArrayView<float> result)
    {
        const string name = "gpu softmax cross-entropy";
        ElementwiseRows(name, logits, rows, cols);
        if (labels.Length != rows || result.Length < 1 || (rows > 0 && cols == 0))
        {
            throw new ArgumentException($"{name}: {rows} rows of {cols} classes need {rows} labels, at least 1 class and a result of at least 1 element, got {labels.Length} labels and {result.Length} elements");
        }

        var mean = result.SubView(0, 1);
        if (rows == 0)
        {
            Fill(mean, 0f);
            return;
        }

        // The row terms go to the scratch's front, the reduction's partial sums after them; sized before any launch.
        var plan = ElementwisePlanReduce(default, StridedShape.Line(rows, 1), 1, rows, max: false, out int partials);
        var scratch = ElementwiseScratch(ref _elementwiseFloats, rows + partials);
        var terms = scratch.SubView(0, rows);
        Cached(ref _elementwiseCrossEntropyRows, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(ElementwiseCrossEntropyRowsKernel))(
            new KernelConfig(rows, ElementwiseRowGroup(cols)), logits, labels, terms, cols);
        ElementwiseLaunchReduce(plan, terms, mean, partials == 0 ? default : scratch.SubView(rows, partials));
        Affine(mean, 1f / rows, 0f, mean);
    }

    /// <summary>result[r] = the index of the first maximum of row r of <paramref name="a"/> seen as [rows, cols] (NaN never wins unless it is first).</summary>
    /// <param name="a">The input, rows·cols elements.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="cols">The length of each row, at least 1 when there are rows.</param>
    /// <param name="result">The output, rows elements.</param>
    /// <exception cref="ArgumentException">A size is negative or a length does not match.</exception>
    public void ArgMaxRows(ArrayView<float> a, int rows, int cols, ArrayView<int> result)
    {
        const string name = "gpu argmax rows";
        ElementwiseRows(name, a, rows, cols);
        if (result.Length != rows || (rows > 0 && cols == 0))
        {
            throw new ArgumentException($"{name}: {rows} rows of {cols} need at least 1 column and a result of {rows} elements, got {result.Length}");
        }

        if (rows == 0)
        {
            return;
        }

        Cached(ref _elementwiseArgMaxRows, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, int>(ElementwiseArgMaxRowsKernel))(
            rows, a, result, cols);
    }

    /// <summary>
    /// The number of rows r of <paramref name="logits"/> seen as [rows, cols] whose first maximum is at labels[r]
    /// (accuracy counting, the rule of the trainer's evaluation). Waits for the accelerator: it returns the count to
    /// the host.
    /// </summary>
    /// <param name="logits">The logits, rows·cols elements.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="cols">The number of classes, at least 1 when there are rows.</param>
    /// <param name="labels">The class of each row, rows elements.</param>
    /// <returns>The count of correct rows.</returns>
    /// <exception cref="ArgumentException">A size is negative or a length does not match.</exception>
    public int CountCorrect(ArrayView<float> logits, int rows, int cols, ArrayView<int> labels)
    {
        const string name = "gpu count correct";
        ElementwiseRows(name, logits, rows, cols);
        if (labels.Length != rows || (rows > 0 && cols == 0))
        {
            throw new ArgumentException($"{name}: {rows} rows of {cols} classes need at least 1 class and {rows} labels, got {labels.Length}");
        }

        if (rows == 0)
        {
            return 0;
        }

        var count = ElementwiseScratch(ref _elementwiseInts, 1);
        count.MemSetToZero();
        Cached(ref _elementwiseCountCorrect, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, int>(ElementwiseCountCorrectKernel))(
            rows, logits, labels, count, cols);
        var host = new int[1];
        count.CopyToCPU(host);
        return host[0];
    }

    // Scratch for partial results in one of the buffers above, grown (never shrunk) as launches need; the accelerator
    // frees it with itself. Growing waits for the queued launches first, as one of them may still read the old buffer.
    private ArrayView<T> ElementwiseScratch<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length)
        where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            long size = Math.Max(length, Math.Max(2 * (buffer?.Length ?? 0), 4096));
            if (buffer is not null)
            {
                Accelerator.Synchronize();
                buffer.Dispose();
            }

            buffer = Accelerator.Allocate1D<T>(size);
        }

        return buffer.View.SubView(0, length);
    }

    private static void ElementwiseRows(string name, ArrayView<float> a, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != a.Length)
        {
            throw new ArgumentException($"{name}: [{rows}, {cols}] needs {(long)rows * cols} elements, got {a.Length}");
        }
    }

    // The smallest power-of-two group (from a warp) that covers a row, up to ReduceGroup.
    private static int ElementwiseRowGroup(int cols)
    {
        int group = 32;
        while (group < cols && group < ReduceGroup)
        {
            group *= 2;
        }

        return group;
    }

    private void ElementwiseReduce(ArrayView<float> a, StridedShape kept, StridedShape summed, int outputs, int length, ArrayView<float> y, bool max)
    {
        if (length == 0)
        {
            Fill(y, max ? float.NegativeInfinity : 0f);
            return;
        }

        var plan = ElementwisePlanReduce(kept, summed, outputs, length, max, out int partials);
        ElementwiseLaunchReduce(plan, a, y, partials == 0 ? default : ElementwiseScratch(ref _elementwiseFloats, partials));
    }

    // The passes of a reduction (see the constants above); `partials` is the scratch they need, in floats.
    private static List<ElementwiseReducePass> ElementwisePlanReduce(StridedShape kept, StridedShape summed, int outputs, int length, bool max, out int partials)
    {
        var passes = new List<ElementwiseReducePass>();
        partials = 0;
        int source = -1;
        while (true)
        {
            bool contiguous = summed.Rank > 0 && summed.A0 == 1;
            bool groups = length > ElementwiseSerialMax && (contiguous || outputs < ElementwiseWarpOutputs);
            int parts = groups
                ? Math.Min(length / ElementwiseGroupWork, ElementwiseCeilDiv(ElementwiseTargetGroups, outputs))
                : Math.Min(length / ElementwiseLaneWork, ElementwiseCeilDiv(ElementwiseTargetLanes, outputs));
            int chunk = ElementwiseCeilDiv(length, Math.Max(parts, 1));
            if (groups)
            {
                chunk = ElementwiseCeilDiv(chunk, ReduceGroup) * ReduceGroup;
            }

            parts = ElementwiseCeilDiv(length, chunk);
            int target = parts == 1 ? -1 : partials;
            passes.Add(new ElementwiseReducePass(groups, kept, summed, new ElementwiseReduceArgs(outputs, length, parts, chunk, max ? 1 : 0), source, target));
            if (parts == 1)
            {
                return passes;
            }

            // Group passes leave [outputs, parts] (an output's chunks side by side), thread passes [parts, outputs].
            partials += outputs * parts;
            (kept, summed) = groups
                ? (StridedShape.Line(outputs, parts), StridedShape.Line(parts, 1))
                : (StridedShape.Line(outputs, 1), StridedShape.Line(parts, outputs));
            length = parts;
            source = target;
        }
    }

    private void ElementwiseLaunchReduce(List<ElementwiseReducePass> plan, ArrayView<float> a, ArrayView<float> y, ArrayView<float> scratch)
    {
        foreach (var pass in plan)
        {
            var args = pass.Args;
            var source = pass.Source < 0 ? a : scratch.SubView(pass.Source, (long)args.Outputs * args.Length);
            var target = pass.Target < 0 ? y : scratch.SubView(pass.Target, (long)args.Outputs * args.Parts);
            int work = args.Outputs * args.Parts;
            if (pass.Groups)
            {
                Cached(ref _elementwiseReduceGroups, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, StridedShape, StridedShape, ElementwiseReduceArgs>(ElementwiseReduceGroupsKernel))(
                    new KernelConfig(work, ReduceGroup), source, target, pass.Kept, pass.Summed, args);
            }
            else
            {
                Cached(ref _elementwiseReduceLanes, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, StridedShape, StridedShape, ElementwiseReduceArgs>(ElementwiseReduceLanesKernel))(
                    work, source, target, pass.Kept, pass.Summed, args);
            }
        }
    }

    private static int ElementwiseCeilDiv(int n, int d) => (int)(((long)n + d - 1) / d);

    // One thread per (chunk, output), summing its chunk in order; thread t = chunk·outputs + output writes y[t].
    [GpuKernel]
    internal static void ElementwiseReduceLanesKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, StridedShape kept, StridedShape summed, ElementwiseReduceArgs args)
    {
        int t = index.X;
        int chunk = t / args.Outputs;
        int output = t - (chunk * args.Outputs);
        int origin = kept.Offsets(output).A;
        args.ChunkBounds(chunk, out int start, out int end);
        float acc = a[origin + summed.Offsets(start).A];
        for (int r = start + 1; r < end; r++)
        {
            acc = ElementwiseCombine(args.Max, acc, a[origin + summed.Offsets(r).A]);
        }

        y[t] = acc;
    }

    // One group per (output, chunk), each thread folding every group-size-th value of the chunk, then a tree; group
    // g = output·parts + chunk writes y[g].
    [GpuKernel(explicitlyGrouped: true)]
    internal static void ElementwiseReduceGroupsKernel(ArrayView<float> a, ArrayView<float> y, StridedShape kept, StridedShape summed, ElementwiseReduceArgs args)
    {
        var shared = SharedMemory.Allocate<float>(ReduceGroup);
        int g = Grid.IdxX;
        int output = g / args.Parts;
        int chunk = g - (output * args.Parts);
        int origin = kept.Offsets(output).A;
        args.ChunkBounds(chunk, out int start, out int end);
        float acc = args.Max != 0 ? float.NegativeInfinity : 0f;
        for (int r = start + Group.IdxX; r < end; r += Group.DimX)
        {
            acc = ElementwiseCombine(args.Max, acc, a[origin + summed.Offsets(r).A]);
        }

        acc = ElementwiseGroupReduce(shared, acc, args.Max);
        if (Group.IdxX == 0)
        {
            y[g] = acc;
        }
    }

    [GpuKernel(explicitlyGrouped: true)]
    internal static void ElementwiseSoftmaxKernel(ArrayView<float> a, ArrayView<float> y, int cols, int log)
    {
        var shared = SharedMemory.Allocate<float>(ReduceGroup);
        int start = Grid.IdxX * cols;
        float max = ElementwiseRowMax(shared, a, start, cols);
        float sum = ElementwiseRowSumExp(shared, a, start, cols, max);
        if (log != 0)
        {
            float lse = XMath.Log(sum);
            for (int j = Group.IdxX; j < cols; j += Group.DimX)
            {
                y[start + j] = (a[start + j] - max) - lse;
            }
        }
        else
        {
            for (int j = Group.IdxX; j < cols; j += Group.DimX)
            {
                y[start + j] = XMath.Exp(a[start + j] - max) / sum;
            }
        }
    }

    [GpuKernel(explicitlyGrouped: true)]
    internal static void ElementwiseCrossEntropyRowsKernel(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> terms, int cols)
    {
        var shared = SharedMemory.Allocate<float>(ReduceGroup);
        int row = Grid.IdxX;
        int start = row * cols;
        float max = ElementwiseRowMax(shared, logits, start, cols);
        float sum = ElementwiseRowSumExp(shared, logits, start, cols, max);
        if (Group.IdxX == 0)
        {
            int label = labels[row];
            terms[row] = label >= 0 && label < cols ? (max - logits[start + label]) + XMath.Log(sum) : float.NaN;
        }
    }

    [GpuKernel]
    internal static void ElementwiseArgMaxRowsKernel(Index1D row, ArrayView<float> a, ArrayView<int> result, int cols) =>
        result[row] = ElementwiseArgMaxRow(a, row.X * cols, cols);

    [GpuKernel]
    internal static void ElementwiseCountCorrectKernel(Index1D row, ArrayView<float> logits, ArrayView<int> labels, ArrayView<int> count, int cols)
    {
        if (ElementwiseArgMaxRow(logits, row.X * cols, cols) == labels[row])
        {
            Atomic.Add(ref count[0], 1);
        }
    }

    // The trainer's rule: the first index whose value exceeds every one before it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ElementwiseArgMaxRow(ArrayView<float> a, int start, int cols)
    {
        int best = 0;
        float top = a[start];
        for (int c = 1; c < cols; c++)
        {
            float v = a[start + c];
            if (v > top)
            {
                best = c;
                top = v;
            }
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseRowMax(ArrayView<float> shared, ArrayView<float> a, int start, int cols)
    {
        float max = float.NegativeInfinity;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
        {
            max = ElementwiseCombine(1, max, a[start + j]);
        }

        return ElementwiseGroupReduce(shared, max, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseRowSumExp(ArrayView<float> shared, ArrayView<float> a, int start, int cols, float max)
    {
        float sum = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
        {
            sum += XMath.Exp(a[start + j] - max);
        }

        return ElementwiseGroupReduce(shared, sum, 0);
    }

    // A sum, or a max where NaN wins (Math.Max's rule).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseCombine(int max, float acc, float v) =>
        max != 0 ? (v > acc || XMath.IsNaN(v) ? v : acc) : acc + v;

    // Folds one value per thread of the group (a power of two up to ReduceGroup) in a fixed tree; every thread gets
    // the result, and the shared memory is free again on return.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseGroupReduce(ArrayView<float> shared, float value, int max)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int step = Group.DimX / 2; step > 0; step /= 2)
        {
            if (t < step)
            {
                shared[t] = ElementwiseCombine(max, shared[t], shared[t + step]);
            }

            Group.Barrier();
        }

        float result = shared[0];
        Group.Barrier();
        return result;
    }

    /// <summary>The sizes of one reduction pass, passed to its kernel.</summary>
    internal readonly struct ElementwiseReduceArgs(int outputs, int length, int parts, int chunk, int max)
    {
        /// <summary>The number of results.</summary>
        public readonly int Outputs = outputs;

        /// <summary>The number of values reduced into each result.</summary>
        public readonly int Length = length;

        /// <summary>The number of chunks each result's values are cut into (partial results written).</summary>
        public readonly int Parts = parts;

        /// <summary>The values per chunk (the last may have fewer).</summary>
        public readonly int Chunk = chunk;

        /// <summary>1 for max, 0 for sum.</summary>
        public readonly int Max = max;

        /// <summary>The values [start, end) of chunk <paramref name="chunk"/>, as indices into an output's run.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void ChunkBounds(int chunk, out int start, out int end)
        {
            start = chunk * Chunk;
            end = IntrinsicMath.Min(start + Chunk, Length);
        }
    }

    // Source and Target are offsets in the scratch, or −1 for the launch's input and output.
    private readonly record struct ElementwiseReducePass(bool Groups, StridedShape Kept, StridedShape Summed, ElementwiseReduceArgs Args, int Source, int Target);
}
