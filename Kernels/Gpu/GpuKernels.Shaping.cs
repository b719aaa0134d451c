using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    // Counts per block of the scatter's prefix sums, each block summed by one thread (no barriers).
    private const int ElementwiseScanBlock = 256;

    // A transpose tile's row is padded by one float so that reading a column touches every shared-memory bank once.
    private const int ElementwiseTilePitch = TileSide + 1;

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int>? _elementwiseTranspose;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>? _elementwiseNarrow;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>? _elementwisePad;
    private Action<Index1D, ArrayView<int>, ArrayView<float>, int>? _elementwiseOneHot;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>>? _elementwiseGather;
    private Action<Index1D, ArrayView<int>, ArrayView<int>>? _elementwiseScatterCount;
    private Action<Index1D, ArrayView<int>, ArrayView<int>>? _elementwiseScanBlocks;
    private Action<Index1D, ArrayView<int>, ArrayView<int>>? _elementwiseScanAdd;
    private Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>? _elementwiseScatterPlace;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>>? _elementwiseScatterSum;

    /// <summary>y[b, c, r] = a[b, r, c]: the last two dimensions of a batch of matrices swapped, through 16×16 tiles in shared memory.</summary>
    /// <param name="a">The input, batch·rows·cols elements.</param>
    /// <param name="batch">The number of matrices.</param>
    /// <param name="rows">The rows of each input matrix.</param>
    /// <param name="cols">The columns of each input matrix.</param>
    /// <param name="y">The output, batch·cols·rows elements, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">A size is negative or a length does not match.</exception>
    public void Transpose(ArrayView<float> a, int batch, int rows, int cols, ArrayView<float> y)
    {
        long n = (long)batch * rows * cols;
        if (batch < 0 || rows < 0 || cols < 0 || n != a.Length || n != y.Length)
        {
            throw new ArgumentException($"gpu transpose: [{batch}, {rows}, {cols}] needs a and y of {n} elements, got {a.Length} and {y.Length}");
        }

        if (n == 0)
        {
            return;
        }

        int tilesR = ElementwiseCeilDiv(rows, TileSide), tilesC = ElementwiseCeilDiv(cols, TileSide);
        Cached(ref _elementwiseTranspose, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int>(ElementwiseTransposeKernel))(
            new KernelConfig(batch * tilesR * tilesC, TileSide * TileSide), a, y, rows, cols, tilesR, tilesC);
    }

    /// <summary>y = a[:, start:start + axisY, :] for a seen as [outer, axisA, inner] and y as [outer, axisY, inner].</summary>
    /// <param name="a">The input, outer·axisA·inner elements.</param>
    /// <param name="outer">The product of the dimensions before the axis.</param>
    /// <param name="axisA">The size of a's axis.</param>
    /// <param name="inner">The product of the dimensions after the axis.</param>
    /// <param name="start">The first index taken along the axis.</param>
    /// <param name="axisY">The number of indices taken (y's axis).</param>
    /// <param name="y">The output, outer·axisY·inner elements, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">A size is negative, the slice leaves a's axis or a length does not match.</exception>
    public void Narrow(ArrayView<float> a, int outer, int axisA, int inner, int start, int axisY, ArrayView<float> y)
    {
        ElementwiseSlice("gpu narrow", a, outer, axisA, inner, start, axisY, y, axisY, axisA);
        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseNarrow, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(ElementwiseNarrowKernel))(
            (int)y.Length, a, y, axisA * inner, axisY * inner, start * inner);
    }

    /// <summary>y = 0 except y[:, start:start + axisA, :] = a, for a seen as [outer, axisA, inner] and y as [outer, axisY, inner] (the gradient of <see cref="Narrow"/>).</summary>
    /// <param name="a">The input, outer·axisA·inner elements.</param>
    /// <param name="outer">The product of the dimensions before the axis.</param>
    /// <param name="axisA">The size of a's axis.</param>
    /// <param name="inner">The product of the dimensions after the axis.</param>
    /// <param name="start">Where a starts along y's axis.</param>
    /// <param name="axisY">The size of y's axis.</param>
    /// <param name="y">The output, outer·axisY·inner elements, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">A size is negative, a does not fit in y's axis or a length does not match.</exception>
    public void Pad(ArrayView<float> a, int outer, int axisA, int inner, int start, int axisY, ArrayView<float> y)
    {
        ElementwiseSlice("gpu pad", a, outer, axisA, inner, start, axisY, y, axisA, axisY);
        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwisePad, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(ElementwisePadKernel))(
            (int)y.Length, a, y, axisA * inner, axisY * inner, start * inner);
    }

    /// <summary>
    /// y[r, c] = 1 where c = labels[r], else 0, for y seen as [labels.Length, classes]. A label outside [0, classes)
    /// leaves its row all 0 (a kernel cannot throw).
    /// </summary>
    /// <param name="labels">The class of each row.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="y">The output, labels.Length·classes elements.</param>
    /// <exception cref="ArgumentException">classes is negative or the length of y does not match.</exception>
    public void OneHot(ArrayView<int> labels, int classes, ArrayView<float> y)
    {
        if (classes < 0 || labels.Length * classes != y.Length || y.Length > int.MaxValue)
        {
            throw new ArgumentException($"gpu one-hot: {labels.Length} labels of {classes} classes need y of {labels.Length * classes} elements, got {y.Length}");
        }

        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseOneHot, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, int>(ElementwiseOneHotKernel))(
            (int)y.Length, labels, y, classes);
    }

    /// <summary>y[i] = a[index[i]]; an index outside a gives NaN (a kernel cannot throw).</summary>
    /// <param name="a">The values.</param>
    /// <param name="index">One index into a per output element.</param>
    /// <param name="y">The output, as long as <paramref name="index"/>, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">The lengths of index and y differ.</exception>
    public void Gather(ArrayView<float> a, ArrayView<int> index, ArrayView<float> y)
    {
        if (index.Length != y.Length || y.Length > int.MaxValue || a.Length > int.MaxValue)
        {
            throw new ArgumentException($"gpu gather: index has {index.Length} elements but y {y.Length}");
        }

        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseGather, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>>(ElementwiseGatherKernel))(
            (int)y.Length, a, index, y);
    }

    /// <summary>
    /// y = 0, then y[index[i]] += a[i] for i in increasing order: each output's terms are added in the CPU's order,
    /// so the result is the CPU's bit for bit, whatever the repeats. No float atomics: the indices are bucketed by
    /// output (integer counts, a scan, a placement), each bucket is sorted back into increasing i, then summed by one
    /// thread. An index outside y is skipped (a kernel cannot throw).
    /// </summary>
    /// <param name="a">The values.</param>
    /// <param name="index">One index into y per value.</param>
    /// <param name="y">The output, not overlapping <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">The lengths of a and index differ.</exception>
    public void ScatterAdd(ArrayView<float> a, ArrayView<int> index, ArrayView<float> y)
    {
        if (index.Length != a.Length || a.Length > int.MaxValue || y.Length > int.MaxValue)
        {
            throw new ArgumentException($"gpu scatter add: a has {a.Length} elements but index {index.Length}");
        }

        int n = (int)a.Length, m = (int)y.Length;
        if (m == 0)
        {
            return;
        }

        if (n == 0)
        {
            Fill(y, 0f);
            return;
        }

        int scanScratch = ElementwiseScanScratch(m);
        var ints = ElementwiseScratch(ref _elementwiseInts, (2L * m) + n + scanScratch);
        ArrayView<int> starts = ints.SubView(0, m), placed = ints.SubView(m, m), order = ints.SubView(2L * m, n);
        ints.SubView(0, 2L * m).MemSetToZero();
        Cached(ref _elementwiseScatterCount, x => x.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>>(ElementwiseScatterCountKernel))(n, index, starts);
        ElementwiseExclusiveScan(starts, ints.SubView((2L * m) + n, scanScratch));
        Cached(ref _elementwiseScatterPlace, x => x.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>(ElementwiseScatterPlaceKernel))(
            n, index, starts, placed, order);
        Cached(ref _elementwiseScatterSum, x => x.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>>(ElementwiseScatterSumKernel))(
            m, a, starts, placed, order, y);
    }

    // Exclusive prefix sums of values, in place: each block scanned by one thread, the blocks' totals scanned the same
    // way (recursively), then added back. Integer sums, so any order gives the same result.
    private void ElementwiseExclusiveScan(ArrayView<int> values, ArrayView<int> scratch)
    {
        int n = (int)values.Length, blocks = ElementwiseCeilDiv(n, ElementwiseScanBlock);
        var totals = scratch.SubView(0, blocks);
        Cached(ref _elementwiseScanBlocks, x => x.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>>(ElementwiseScanBlocksKernel))(blocks, values, totals);
        if (blocks == 1)
        {
            return;
        }

        ElementwiseExclusiveScan(totals, scratch.SubView(blocks, scratch.Length - blocks));
        Cached(ref _elementwiseScanAdd, x => x.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>>(ElementwiseScanAddKernel))(n, values, totals);
    }

    // The block totals of every level of ElementwiseExclusiveScan over n ≥ 1 values.
    private static int ElementwiseScanScratch(int n)
    {
        int total = 0;
        do
        {
            n = ElementwiseCeilDiv(n, ElementwiseScanBlock);
            total += n;
        }
        while (n > 1);
        return total;
    }

    private static void ElementwiseSlice(string name, ArrayView<float> a, int outer, int axisA, int inner, int start, int axisY, ArrayView<float> y, int part, int whole)
    {
        long aLength = (long)outer * axisA * inner, yLength = (long)outer * axisY * inner;
        if (outer < 0 || axisA < 0 || inner < 0 || axisY < 0 || start < 0 || (long)start + part > whole || aLength != a.Length || yLength != y.Length)
        {
            throw new ArgumentException(
                $"{name}: a [{outer}, {axisA}, {inner}] and y [{outer}, {axisY}, {inner}] with start {start} need start + {part} ≤ {whole} and a of {aLength}, y of {yLength} elements, got {a.Length} and {y.Length}");
        }

        if (aLength > int.MaxValue || yLength > int.MaxValue)
        {
            throw new ArgumentException($"{name}: {Math.Max(aLength, yLength)} elements exceed the kernels' {int.MaxValue}");
        }
    }

    [GpuKernel(explicitlyGrouped: true)]
    internal static void ElementwiseTransposeKernel(ArrayView<float> a, ArrayView<float> y, int rows, int cols, int tilesR, int tilesC)
    {
        var tile = SharedMemory.Allocate<float>(TileSide * ElementwiseTilePitch);
        int g = Grid.IdxX, perMatrix = tilesR * tilesC;
        int b = g / perMatrix;
        int rest = g - (b * perMatrix);
        int r0 = rest / tilesC * TileSide;
        int c0 = (rest - (rest / tilesC * tilesC)) * TileSide;
        int tx = Group.IdxX % TileSide, ty = Group.IdxX / TileSide;
        int plane = b * rows * cols;

        // Both the load (along a's rows) and the store (along y's rows) run along memory across a warp.
        if (r0 + ty < rows && c0 + tx < cols)
        {
            tile[(ty * ElementwiseTilePitch) + tx] = a[plane + ((r0 + ty) * cols) + c0 + tx];
        }

        Group.Barrier();
        if (c0 + ty < cols && r0 + tx < rows)
        {
            y[plane + ((c0 + ty) * rows) + r0 + tx] = tile[(tx * ElementwiseTilePitch) + ty];
        }
    }

    // y's block of one outer index is a contiguous run of a's block from `offset`.
    [GpuKernel]
    internal static void ElementwiseNarrowKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, int blockA, int blockY, int offset)
    {
        int o = index.X / blockY;
        y[index] = a[(o * blockA) + offset + (index.X - (o * blockY))];
    }

    [GpuKernel]
    internal static void ElementwisePadKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, int blockA, int blockY, int offset)
    {
        int o = index.X / blockY;
        int k = index.X - (o * blockY) - offset;
        y[index] = k >= 0 && k < blockA ? a[(o * blockA) + k] : 0f;
    }

    [GpuKernel]
    internal static void ElementwiseOneHotKernel(Index1D index, ArrayView<int> labels, ArrayView<float> y, int classes)
    {
        int r = index.X / classes;
        y[index] = labels[r] == index.X - (r * classes) ? 1f : 0f;
    }

    [GpuKernel]
    internal static void ElementwiseGatherKernel(Index1D index, ArrayView<float> a, ArrayView<int> at, ArrayView<float> y)
    {
        int k = at[index];
        y[index] = k >= 0 && k < a.IntLength ? a[k] : float.NaN;
    }

    [GpuKernel]
    internal static void ElementwiseScatterCountKernel(Index1D index, ArrayView<int> at, ArrayView<int> counts)
    {
        int k = at[index];
        if (k >= 0 && k < counts.IntLength)
        {
            Atomic.Add(ref counts[k], 1);
        }
    }

    [GpuKernel]
    internal static void ElementwiseScanBlocksKernel(Index1D block, ArrayView<int> values, ArrayView<int> totals)
    {
        int start = block.X * ElementwiseScanBlock;
        int end = IntrinsicMath.Min(start + ElementwiseScanBlock, values.IntLength);
        int sum = 0;
        for (int j = start; j < end; j++)
        {
            int v = values[j];
            values[j] = sum;
            sum += v;
        }

        totals[block] = sum;
    }

    [GpuKernel]
    internal static void ElementwiseScanAddKernel(Index1D index, ArrayView<int> values, ArrayView<int> totals) =>
        values[index] += totals[index.X / ElementwiseScanBlock];

    // Each value's position in its output's bucket; the order within a bucket is the atomics', undone by the sort.
    [GpuKernel]
    internal static void ElementwiseScatterPlaceKernel(Index1D index, ArrayView<int> at, ArrayView<int> starts, ArrayView<int> placed, ArrayView<int> order)
    {
        int k = at[index];
        if (k >= 0 && k < starts.IntLength)
        {
            order[starts[k] + Atomic.Add(ref placed[k], 1)] = index.X;
        }
    }

    [GpuKernel]
    internal static void ElementwiseScatterSumKernel(Index1D index, ArrayView<float> a, ArrayView<int> starts, ArrayView<int> placed, ArrayView<int> order, ArrayView<float> y)
    {
        int start = starts[index], count = placed[index];
        ElementwiseSortInts(order, start, count);
        float sum = 0f;
        for (int k = start; k < start + count; k++)
        {
            sum += a[order[k]];
        }

        y[index] = sum;
    }

    // Sorts v[start, start + count) ascending: insertion sort for the short buckets of typical scatters (max-pool
    // gradients repeat an index a few times at most), heapsort beyond so that one long bucket stays O(n log n).
    private static void ElementwiseSortInts(ArrayView<int> v, int start, int count)
    {
        if (count <= 16)
        {
            for (int i = start + 1; i < start + count; i++)
            {
                int x = v[i];
                int j = i - 1;
                while (j >= start && v[j] > x)
                {
                    v[j + 1] = v[j];
                    j--;
                }

                v[j + 1] = x;
            }

            return;
        }

        for (int root = (count / 2) - 1; root >= 0; root--)
        {
            ElementwiseSiftDown(v, start, root, count);
        }

        for (int end = count - 1; end > 0; end--)
        {
            int top = v[start];
            v[start] = v[start + end];
            v[start + end] = top;
            ElementwiseSiftDown(v, start, 0, end);
        }
    }

    private static void ElementwiseSiftDown(ArrayView<int> v, int start, int root, int count)
    {
        int child = (2 * root) + 1;
        while (child < count)
        {
            if (child + 1 < count && v[start + child + 1] > v[start + child])
            {
                child++;
            }

            if (v[start + root] >= v[start + child])
            {
                return;
            }

            int x = v[start + root];
            v[start + root] = v[start + child];
            v[start + child] = x;
            root = child;
            child = (2 * root) + 1;
        }
    }
}
