using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The kernels of a sparse linear layer y = x·Wᵀ whose weight W [out, in] is kept in CSR form
/// (<see cref="SparseRows"/>): the forward product (SpMM), the input gradient dx = dy·W (SpMM with the transposed
/// structure) and the weight gradient at the kept positions only (SDDMM). The batch is the vectorised dimension, as
/// in SparseProp (Nikdan et al., 2023): activations are transposed to [features, batch] first, so each kept weight
/// multiplies a contiguous run of the batch, and the work scales with the number of kept weights rather than with
/// in·out.
/// </summary>
/// <remarks>
/// <para>Layout: a transposed operand (xT; dyT for <see cref="SampledProduct"/> and <see cref="Multiply"/> with W's transpose) is tile-major, [batch tiles][features][<see cref="TileWidth"/>(batch)]:
/// element (f, b) lies at (b / T)·features·T + f·T + b % T for T = TileWidth(batch), and the batch is padded to
/// <see cref="PaddedBatch"/>(batch) with zeros, which <see cref="Transpose"/> writes. Each batch tile of the operand is
/// one contiguous block, so the kernels can choose tiles that stay in L2 while every output row reads them, with no
/// page or cache-set conflicts between the rows of a tile; <see cref="WorkspaceLength"/> gives the size.</para>
/// <para>Alignment: the layout starts <see cref="Origin"/> floats into the operand's span (0 to 15), at the first
/// 64-byte boundary when the kernel that writes the operand runs, so every vector of a tile lies in one cache line
/// (a misaligned 512-bit load touches two, and the products read one per multiply-add). The writer records the origin
/// in the span's last element (<see cref="WorkspaceLength"/> − 1), past the data, and readers take it from there, so
/// an operand stays readable after the garbage collector moves its array, only no longer aligned. Element (f, b) is
/// therefore at Origin + (b / T)·features·T + f·T + b % T.</para>
/// <para>Bits: each output of <see cref="Multiply"/> and <see cref="MultiplyTransposed"/> (and dx of
/// <see cref="Backward"/>, which is <see cref="Multiply"/> with W's transpose) is one chain of fused multiply-adds over
/// its row's entries in column order, at every SIMD width, thread count and partition, so it equals a scalar FMA loop
/// exactly. Each value of <see cref="SampledProduct"/> (and dW of <see cref="Backward"/>, which gives the same bits) is
/// summed over pieces of the batch in batch order: a piece is up to 4 vectors of the SIMD width chosen at run time
/// (64 floats at AVX-512, 32 at AVX2, never across a batch tile), its products one FMA chain per lane reduced to a
/// float in a fixed tree (halves added down to 4 lanes, then (l0 + l2) + (l1 + l3)), each piece's float added to the
/// running sum; from a padded batch of 128 on, the batch is summed so in two halves (the first ending at
/// 64·⌈padded / 128⌉) and the second half's sum is added to the first's. Threads split the rows at
/// <see cref="SparseRows"/>' fixed part boundaries (and the backward pass the halves of the batch), each output or half
/// sum is computed whole by one thread, and none of the splits depends on the number of threads, so all results are
/// bit-identical run to run and machine to machine at one SIMD width.</para>
/// </remarks>
public static unsafe partial class SparseLinear
{
    /// <summary>The narrowest batch tile: a Vector512 of floats.</summary>
    public const int BatchAlignment = 16;

    /// <summary>The widest batch tile: 4 Vector512s, 8 Vector256s.</summary>
    private const int MaxTileWidth = 64;

    /// <summary>Below this many multiply-adds a call runs on the calling thread alone.</summary>
    internal const long ParallelThreshold = 1L << 16;

    /// <summary>
    /// Forces a SIMD width for tests of the fallback paths: 0 = widest available, otherwise 16, 8, 4 or 1 floats.
    /// Never set outside tests.
    /// </summary>
    internal static int ForcedWidth { get; set; }

    /// <summary>
    /// The width (floats) of one batch tile of a transposed operand: 16, 32 or 64, the smallest of them that holds the
    /// whole batch, else 64. A 64-float tile of 3,072 features is 768 KiB, so the tile every output row of the input
    /// gradient reads stays in a 1 MiB L2.
    /// </summary>
    /// <param name="batch">The batch size.</param>
    /// <returns>The tile width.</returns>
    public static int TileWidth(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        return batch <= 16 ? 16 : batch <= 32 ? 32 : MaxTileWidth;
    }

    /// <summary>The batch rounded up to whole tiles of <see cref="TileWidth"/>(batch).</summary>
    /// <param name="batch">The batch size.</param>
    /// <returns>The padded batch size.</returns>
    public static int PaddedBatch(int batch)
    {
        int tile = TileWidth(batch);
        return (batch + tile - 1) / tile * tile;
    }

    /// <summary>
    /// The length of a transposed operand (the workspace xT of <see cref="Forward"/> and <see cref="Backward"/>) with
    /// <paramref name="features"/> rows for <paramref name="batch"/>: features · <see cref="PaddedBatch"/>(batch) and 16
    /// floats for the alignment and the origin marker (see the class remarks), or 0 when there are no elements.
    /// </summary>
    /// <param name="features">The features of the operand (in for xT, out for dyT).</param>
    /// <param name="batch">The batch size.</param>
    /// <returns>The number of floats the operand takes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public static int WorkspaceLength(int features, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(features);
        int data = checked(features * PaddedBatch(batch));
        return data == 0 ? 0 : checked(data + OperandSlack);
    }

    /// <summary>
    /// Where the layout of a transposed operand begins in <paramref name="operand"/> (floats from its start, 0 to 15),
    /// as the kernel that wrote it recorded (see the class remarks); 0 for an operand with no elements.
    /// </summary>
    /// <param name="operand">A transposed operand written by <see cref="Transpose"/> (or <see cref="Forward"/>) or <see cref="MultiplyTransposed"/>.</param>
    /// <param name="features">Its features.</param>
    /// <param name="batch">The batch size.</param>
    /// <returns>The offset of element (0, 0).</returns>
    /// <exception cref="ArgumentException">The span is too short, or its origin marker is not an offset a kernel writes (the operand was not written by one).</exception>
    public static int Origin(ReadOnlySpan<float> operand, int features, int batch)
    {
        CheckTransposed("sparse operand", "operand", operand.Length, features, batch);
        return ReadOrigin(operand, features, batch, "operand");
    }

    /// <summary>Floats a transposed operand takes beyond its data: room to move the layout to a 64-byte boundary (up to 15 floats) and, last, the origin marker.</summary>
    private const int OperandSlack = 16;

    /// <summary>Reads the origin marker of a transposed operand whose length has been checked.</summary>
    private static int ReadOrigin(ReadOnlySpan<float> operand, int features, int batch, string name)
    {
        int length = WorkspaceLength(features, batch);
        if (length == 0)
        {
            return 0;
        }

        float marker = operand[length - 1];
        if (!(marker >= 0f && marker < OperandSlack && marker == MathF.Floor(marker)))
        {
            throw new ArgumentException(
                $"sparse linear: {name} ({features} features, batch {batch}) has origin marker {marker} at element {length - 1}, not an offset 0-{OperandSlack - 1}; write transposed operands with SparseLinear.Transpose");
        }

        return (int)marker;
    }

    /// <summary>
    /// Chooses the origin of a transposed operand about to be written: the first element at a 64-byte boundary (the
    /// first element when the span is not float-aligned), recorded in its marker.
    /// </summary>
    private static int PlaceOrigin(Span<float> operand, int features, int batch)
    {
        int length = WorkspaceLength(features, batch);
        if (length == 0)
        {
            return 0;
        }

        nint address = (nint)Unsafe.AsPointer(ref operand[0]);
        int origin = address % sizeof(float) != 0 ? 0 : (int)((64 - (address & 63)) & 63) / sizeof(float);
        operand[length - 1] = origin;
        return origin;
    }

    /// <summary>
    /// Writes the row-major <paramref name="source"/> [<paramref name="rows"/>, <paramref name="columns"/>] transposed
    /// into <paramref name="target"/> in the tile-major layout of the class remarks (features = columns, batch =
    /// rows), padding included: x [batch, in] becomes the xT the other kernels read.
    /// </summary>
    /// <param name="source">The matrix to transpose.</param>
    /// <param name="rows">Rows of <paramref name="source"/> (the batch).</param>
    /// <param name="columns">Columns of <paramref name="source"/> (the features).</param>
    /// <param name="target">The transposed matrix, at least <see cref="WorkspaceLength"/>(columns, rows) long; must not overlap <paramref name="source"/>.</param>
    /// <exception cref="ArgumentException">A dimension is negative, a span is too short, or the spans overlap.</exception>
    public static void Transpose(ReadOnlySpan<float> source, int rows, int columns, Span<float> target)
    {
        if (rows < 0 || columns < 0)
        {
            throw new ArgumentException($"sparse transpose: dimensions must be non-negative, got [{rows},{columns}]");
        }

        CheckLength("sparse transpose", "source", source.Length, (long)rows * columns, rows, columns);
        CheckTransposed("sparse transpose", "target", target.Length, columns, rows);
        if (target[..WorkspaceLength(columns, rows)].Overlaps(source))
        {
            throw new ArgumentException("sparse transpose: target overlaps source");
        }

        TransposeUnchecked(source, rows, columns, target[PlaceOrigin(target, columns, rows)..]);
    }

    /// <summary>
    /// y[b, r] = Σ over the entries (r, c, v) of <paramref name="a"/> of v·xT[c, b]: y = x·Aᵀ for a transposed input,
    /// written row-major [<paramref name="batch"/>, a.Rows]. With the weight W it is the forward pass y = x·Wᵀ; with
    /// W's transpose and dyT it is the input gradient dx = dy·W.
    /// </summary>
    /// <param name="a">The sparse matrix [rows, columns] and its values.</param>
    /// <param name="xT">The transposed input, a.Columns features in the layout of the class remarks, padding finite.</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="y">The output [batch, a.Rows], overwritten; must not overlap <paramref name="xT"/>.</param>
    /// <exception cref="ArgumentException">A size does not match or the spans overlap.</exception>
    public static void Multiply(SparseRows a, ReadOnlySpan<float> xT, int batch, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(a);
        CheckTransposed("sparse multiply", "xT", xT.Length, a.Columns, batch);
        CheckLength("sparse multiply", "y", y.Length, (long)batch * a.Rows, batch, a.Rows);
        y = y[..(batch * a.Rows)];
        if (y.Overlaps(xT))
        {
            throw new ArgumentException("sparse multiply: y overlaps xT");
        }

        RunMultiply(a, xT[ReadOrigin(xT, a.Columns, batch, "xT")..], batch, y, transposedOutput: false);
    }

    /// <summary>
    /// yT[r, b] = Σ over the entries (r, c, v) of <paramref name="a"/> of v·xT[c, b], written transposed in the layout
    /// of the class remarks (a.Rows features): <see cref="Multiply"/> for a caller that keeps activations transposed,
    /// which saves the transpose of the output. The padding of yT receives the products of xT's padding (zeros when
    /// that padding is zero).
    /// </summary>
    /// <param name="a">The sparse matrix [rows, columns] and its values.</param>
    /// <param name="xT">The transposed input, a.Columns features.</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="yT">The transposed output, <see cref="WorkspaceLength"/>(a.Rows, batch) long at least; must not overlap <paramref name="xT"/>.</param>
    /// <exception cref="ArgumentException">A size does not match or the spans overlap.</exception>
    public static void MultiplyTransposed(SparseRows a, ReadOnlySpan<float> xT, int batch, Span<float> yT)
    {
        ArgumentNullException.ThrowIfNull(a);
        CheckTransposed("sparse multiply", "xT", xT.Length, a.Columns, batch);
        CheckTransposed("sparse multiply", "yT", yT.Length, a.Rows, batch);
        if (yT.Overlaps(xT))
        {
            throw new ArgumentException("sparse multiply: yT overlaps xT");
        }

        int origin = ReadOrigin(xT, a.Columns, batch, "xT");
        RunMultiply(a, xT[origin..], batch, yT[PlaceOrigin(yT, a.Rows, batch)..], transposedOutput: true);
    }

    /// <summary>
    /// values[e] = Σ_b aT[r, b]·bT[c, b] for each entry e = (r, c) of <paramref name="pattern"/>: the product
    /// A·Bᵀ sampled at the kept positions only (SDDMM). With aT = dyT and bT = xT it is the weight gradient
    /// dW = dyᵀ·x of a sparse linear layer, computed only where the mask keeps a weight.
    /// </summary>
    /// <param name="pattern">The positions to compute; its values are not read.</param>
    /// <param name="aT">Transposed, pattern.Rows features, padding zero.</param>
    /// <param name="bT">Transposed, pattern.Columns features, padding zero.</param>
    /// <param name="batch">The length of the sums.</param>
    /// <param name="values">The results in entry order (pattern.Count of them), overwritten.</param>
    /// <param name="dense">Empty, or [pattern.Rows, pattern.Columns] to receive the results at their positions and zeros elsewhere.</param>
    /// <exception cref="ArgumentException">A size does not match or an output overlaps an input.</exception>
    public static void SampledProduct(SparseRows pattern, ReadOnlySpan<float> aT, ReadOnlySpan<float> bT, int batch, Span<float> values, Span<float> dense)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        CheckTransposed("sparse sampled product", "aT", aT.Length, pattern.Rows, batch);
        CheckTransposed("sparse sampled product", "bT", bT.Length, pattern.Columns, batch);
        CheckGradient("sparse sampled product", pattern, values, ref dense);
        if (values.Overlaps(aT) || values.Overlaps(bT) || dense.Overlaps(aT) || dense.Overlaps(bT))
        {
            throw new ArgumentException("sparse sampled product: an output overlaps an input or the other output");
        }

        RunSampledProduct(pattern, aT[ReadOrigin(aT, pattern.Rows, batch, "aT")..], bT[ReadOrigin(bT, pattern.Columns, batch, "bT")..], batch, values, dense);
    }

    /// <summary>
    /// The forward pass of a sparse linear layer: transposes <paramref name="x"/> into <paramref name="xT"/> (kept by
    /// the caller for <see cref="Backward"/>), then y = x·Wᵀ.
    /// </summary>
    /// <param name="weight">W [out, in] in CSR form with current values.</param>
    /// <param name="x">The input [batch, in].</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="xT">Workspace of <see cref="WorkspaceLength"/>(in, batch) floats, overwritten with the transposed input.</param>
    /// <param name="y">The output [batch, out], overwritten.</param>
    /// <exception cref="ArgumentException">A size does not match or spans overlap.</exception>
    public static void Forward(SparseRows weight, ReadOnlySpan<float> x, int batch, Span<float> xT, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        Transpose(x, batch, weight.Columns, xT);
        Multiply(weight, xT, batch, y);
    }

    /// <summary>
    /// The backward pass of a sparse linear layer: the input gradient dx = dy·W and the weight gradient dW = dyᵀ·x at the
    /// kept positions, in one pass over W's transpose that transposes <paramref name="dy"/> a piece of the batch at a
    /// time into per-thread buffers (each piece of dy a kept weight reads serves both products).
    /// </summary>
    /// <param name="weight">W [out, in] in CSR form with current values.</param>
    /// <param name="weightTransposed">W's <see cref="SparseRows.Transpose"/>; its values are read only for dx, and must then be current (<see cref="SparseRows.LoadValuesFrom"/>).</param>
    /// <param name="xT">The transposed input that <see cref="Forward"/> wrote (<see cref="WorkspaceLength"/>(in, batch) floats).</param>
    /// <param name="dy">The output gradient [batch, out].</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="dx">The input gradient [batch, in], overwritten; empty to skip it (a first layer).</param>
    /// <param name="weightGradValues">dW at the kept positions, in W's entry order (weight.Count values), overwritten.</param>
    /// <param name="weightGrad">Empty, or the dense dW [out, in]: overwritten, zero at pruned positions.</param>
    /// <exception cref="ArgumentException">A size does not match, the transposed weight does not match the weight, or spans overlap.</exception>
    public static void Backward(
        SparseRows weight, SparseRows weightTransposed, ReadOnlySpan<float> xT, ReadOnlySpan<float> dy, int batch,
        Span<float> dx, Span<float> weightGradValues, Span<float> weightGrad)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(weightTransposed);
        if (weightTransposed.Rows != weight.Columns || weightTransposed.Columns != weight.Rows || weightTransposed.Count != weight.Count
            || weightTransposed.SourceSlots.Length != weight.Count)
        {
            throw new ArgumentException(
                $"sparse backward: transposed weight [{weightTransposed.Rows},{weightTransposed.Columns}] with {weightTransposed.Count} entries ({weightTransposed.SourceSlots.Length} source slots) does not match weight [{weight.Rows},{weight.Columns}] with {weight.Count}");
        }

        CheckTransposed("sparse backward", "xT", xT.Length, weight.Columns, batch);
        CheckLength("sparse backward", "dy", dy.Length, (long)batch * weight.Rows, batch, weight.Rows);
        dy = dy[..(batch * weight.Rows)];
        if (!dx.IsEmpty)
        {
            CheckLength("sparse backward", "dx", dx.Length, (long)batch * weight.Columns, batch, weight.Columns);
            dx = dx[..(batch * weight.Columns)];
        }

        CheckGradient("sparse backward", weight, weightGradValues, ref weightGrad);
        if (dx.Overlaps(xT) || dx.Overlaps(dy) || dx.Overlaps(weightGradValues) || dx.Overlaps(weightGrad)
            || weightGradValues.Overlaps(xT) || weightGradValues.Overlaps(dy) || weightGrad.Overlaps(xT) || weightGrad.Overlaps(dy))
        {
            throw new ArgumentException("sparse backward: an output overlaps an input or another output");
        }

        RunBackward(weight, weightTransposed, xT[ReadOrigin(xT, weight.Columns, batch, "xT")..], dy, batch, dx, weightGradValues, weightGrad);
    }

    /// <summary>The SIMD width (floats) the kernels run at: the widest accelerated, or a narrower forced one.</summary>
    internal static int SelectWidth()
    {
        int widest = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;
        int forced = ForcedWidth;
        return forced != 0 && forced < widest ? forced : widest;
    }

    private static void CheckLength(string op, string name, int length, long needed, int rows, int columns)
    {
        if (length < needed)
        {
            throw new ArgumentException($"{op}: {name} has {length} elements, expected at least {needed} for [{rows},{columns}]");
        }
    }

    /// <summary>Checks the length of a transposed operand of <paramref name="features"/> rows and the batch.</summary>
    private static void CheckTransposed(string op, string name, int length, int features, int batch)
    {
        if (batch < 0)
        {
            throw new ArgumentException($"{op}: batch must be non-negative, got {batch}");
        }

        long data = (long)features * PaddedBatch(batch), needed = data == 0 ? 0 : data + OperandSlack;
        if (length < needed)
        {
            throw new ArgumentException($"{op}: {name} has {length} elements, expected at least {needed} for {features} features at padded batch {PaddedBatch(batch)} (batch {batch}) and the alignment slack");
        }
    }

    /// <summary>Checks the weight gradient's outputs and trims the dense one to its size.</summary>
    private static void CheckGradient(string op, SparseRows pattern, Span<float> values, ref Span<float> dense)
    {
        if (values.Length != pattern.Count)
        {
            throw new ArgumentException($"{op}: values has {values.Length} elements for {pattern.Count} entries");
        }

        if (!dense.IsEmpty)
        {
            CheckLength(op, "dense", dense.Length, (long)pattern.Rows * pattern.Columns, pattern.Rows, pattern.Columns);
            dense = dense[..(pattern.Rows * pattern.Columns)];
        }

        if (values.Overlaps(dense))
        {
            throw new ArgumentException($"{op}: the weight gradient's values overlap its dense form");
        }
    }
}
