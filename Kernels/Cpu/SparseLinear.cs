using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The kernels of a sparse linear layer y = x·Wᵀ whose weight W [out, in] is kept in CSR form
/// (<see cref="SparseRows"/>): the forward product (SpMM), the input gradient dx = dy·W (SpMM with the transposed
/// structure) and the weight gradient at the kept positions only (SDDMM). The batch is the vectorised dimension, as
/// in SparseProp (Nikdan et al., 2023): activations are transposed to [features, batch] first, so each kept weight
/// multiplies a contiguous row of the batch, and the work scales with the number of kept weights rather than with
/// in·out.
/// </summary>
/// <remarks>
/// <para>Layouts: a transposed operand (xT, dyT) is [features, ld] with ld ≥ <see cref="PaddedBatch"/>(batch); its
/// columns [batch, PaddedBatch(batch)) are read as whole vectors and must be zero (finite at least, for
/// <see cref="Multiply"/>), which <see cref="Transpose"/> guarantees.</para>
/// <para>Bits: each output of <see cref="Multiply"/> is one chain of fused multiply-adds over its row's entries in
/// column order, at every SIMD width, thread count and partition, so it equals a scalar FMA loop exactly. Each value
/// of <see cref="SampledProduct"/> is summed in a fixed order set by the batch size and the SIMD width chosen at run
/// time. Threads split the rows at <see cref="SparseRows"/>' fixed part boundaries and each output is computed whole
/// by one thread, so all results are bit-identical run to run.</para>
/// </remarks>
public static unsafe partial class SparseLinear
{
    /// <summary>Transposed operands are padded to a multiple of this many batch columns (a Vector512 of floats).</summary>
    public const int BatchAlignment = 16;

    /// <summary>Below this many multiply-adds a call runs on the calling thread alone.</summary>
    internal const long ParallelThreshold = 1L << 16;

    /// <summary>
    /// Forces a SIMD width for tests of the fallback paths: 0 = widest available, otherwise 16, 8, 4 or 1 floats.
    /// Never set outside tests.
    /// </summary>
    internal static int ForcedWidth { get; set; }

    /// <summary>The batch rounded up to <see cref="BatchAlignment"/>: the smallest leading dimension of a transposed operand.</summary>
    /// <param name="batch">The batch size.</param>
    /// <returns>The padded batch size.</returns>
    public static int PaddedBatch(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        return (batch + BatchAlignment - 1) / BatchAlignment * BatchAlignment;
    }

    /// <summary>
    /// The row stride <see cref="Forward"/> and <see cref="Backward"/> use for the transposed operands: the padded batch,
    /// plus one cache line when the padded batch is a multiple of 256 floats. Rows a power-of-two number of kilobytes
    /// apart map to the same few cache sets, so the rows of a batch tile, read over and over by every output row, would
    /// evict each other from L1 and L2 long before the caches are full.
    /// </summary>
    /// <param name="batch">The batch size.</param>
    /// <returns>The leading dimension of the workspaces xT and dyT.</returns>
    public static int TransposedStride(int batch)
    {
        int padded = PaddedBatch(batch);
        return padded % 256 == 0 && padded > 0 ? padded + BatchAlignment : padded;
    }

    /// <summary>
    /// Writes target[c, r] = source[r, c] for the row-major <paramref name="source"/> [<paramref name="rows"/>,
    /// <paramref name="columns"/>] into <paramref name="target"/> [<paramref name="columns"/>, <paramref name="ld"/>],
    /// and zeros into its columns [rows, ld): x [batch, in] becomes the xT [in, ld] the other kernels read.
    /// </summary>
    /// <param name="source">The matrix to transpose.</param>
    /// <param name="rows">Rows of <paramref name="source"/> (the batch).</param>
    /// <param name="columns">Columns of <paramref name="source"/> (the features).</param>
    /// <param name="target">The transposed matrix; must not overlap <paramref name="source"/>.</param>
    /// <param name="ld">Row stride of <paramref name="target"/>, at least <paramref name="rows"/>.</param>
    /// <exception cref="ArgumentException">A dimension is negative, <paramref name="ld"/> is too small, a span is too short, or the spans overlap.</exception>
    public static void Transpose(ReadOnlySpan<float> source, int rows, int columns, Span<float> target, int ld)
    {
        if (rows < 0 || columns < 0)
        {
            throw new ArgumentException($"sparse transpose: dimensions must be non-negative, got [{rows},{columns}]");
        }

        if (ld < rows)
        {
            throw new ArgumentException($"sparse transpose: ld={ld} is smaller than the {rows} rows of the source");
        }

        CheckLength("sparse transpose", "source", source.Length, (long)rows * columns, rows, columns);
        CheckLength("sparse transpose", "target", target.Length, (long)columns * ld, columns, ld);
        if (target[..(columns * ld)].Overlaps(source))
        {
            throw new ArgumentException("sparse transpose: target overlaps source");
        }

        TransposeUnchecked(source, rows, columns, target, ld);
    }

    /// <summary>
    /// y[b, r] = Σ over the entries (r, c, v) of <paramref name="a"/> of v·xT[c, b]: y = x·Aᵀ for a transposed input,
    /// written row-major [<paramref name="batch"/>, a.Rows]. With the weight W it is the forward pass y = x·Wᵀ; with
    /// W's transpose and dyT it is the input gradient dx = dy·W.
    /// </summary>
    /// <param name="a">The sparse matrix [rows, columns] and its values.</param>
    /// <param name="xT">The transposed input [a.Columns, <paramref name="ldx"/>] (see the class remarks for its padding).</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="ldx">Row stride of <paramref name="xT"/>, at least <see cref="PaddedBatch"/>(batch).</param>
    /// <param name="y">The output [batch, a.Rows], overwritten; must not overlap <paramref name="xT"/>.</param>
    /// <exception cref="ArgumentException">A size does not match, <paramref name="ldx"/> is too small, or the spans overlap.</exception>
    public static void Multiply(SparseRows a, ReadOnlySpan<float> xT, int batch, int ldx, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(a);
        int padded = CheckTransposed("sparse multiply", "xT", xT.Length, a.Columns, batch, ldx);
        CheckLength("sparse multiply", "y", y.Length, (long)batch * a.Rows, batch, a.Rows);
        y = y[..(batch * a.Rows)];
        if (y.Overlaps(xT))
        {
            throw new ArgumentException("sparse multiply: y overlaps xT");
        }

        RunMultiply(a, xT, padded, ldx, batch, y, a.Rows, transposedOutput: false);
    }

    /// <summary>
    /// yT[r, b] = Σ over the entries (r, c, v) of <paramref name="a"/> of v·xT[c, b], written transposed [a.Rows,
    /// <paramref name="ldy"/>]: <see cref="Multiply"/> for a caller that keeps activations in the [features, batch]
    /// layout, which saves the transpose of the output. Columns [batch, PaddedBatch(batch)) of yT receive the products
    /// of xT's padding (zeros when that padding is zero).
    /// </summary>
    /// <param name="a">The sparse matrix [rows, columns] and its values.</param>
    /// <param name="xT">The transposed input [a.Columns, <paramref name="ldx"/>].</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="ldx">Row stride of <paramref name="xT"/>, at least <see cref="PaddedBatch"/>(batch).</param>
    /// <param name="yT">The transposed output [a.Rows, <paramref name="ldy"/>]; must not overlap <paramref name="xT"/>.</param>
    /// <param name="ldy">Row stride of <paramref name="yT"/>, at least <see cref="PaddedBatch"/>(batch).</param>
    /// <exception cref="ArgumentException">A size does not match, a stride is too small, or the spans overlap.</exception>
    public static void MultiplyTransposed(SparseRows a, ReadOnlySpan<float> xT, int batch, int ldx, Span<float> yT, int ldy)
    {
        ArgumentNullException.ThrowIfNull(a);
        int padded = CheckTransposed("sparse multiply", "xT", xT.Length, a.Columns, batch, ldx);
        CheckTransposed("sparse multiply", "yT", yT.Length, a.Rows, batch, ldy);
        if (yT.Overlaps(xT))
        {
            throw new ArgumentException("sparse multiply: yT overlaps xT");
        }

        RunMultiply(a, xT, padded, ldx, batch, yT, ldy, transposedOutput: true);
    }

    /// <summary>
    /// values[e] = Σ_b aT[r, b]·bT[c, b] for each entry e = (r, c) of <paramref name="pattern"/>: the product
    /// A·Bᵀ sampled at the kept positions only (SDDMM). With aT = dyT and bT = xT it is the weight gradient
    /// dW = dyᵀ·x of a sparse linear layer, computed only where the mask keeps a weight.
    /// </summary>
    /// <param name="pattern">The positions to compute; its values are not read.</param>
    /// <param name="aT">[pattern.Rows, <paramref name="ld"/>], padding columns zero.</param>
    /// <param name="bT">[pattern.Columns, <paramref name="ld"/>], padding columns zero.</param>
    /// <param name="batch">The length of the sums.</param>
    /// <param name="ld">Row stride of <paramref name="aT"/> and <paramref name="bT"/>, at least <see cref="PaddedBatch"/>(batch).</param>
    /// <param name="values">The results in entry order (pattern.Count of them), overwritten.</param>
    /// <param name="dense">Empty, or [pattern.Rows, pattern.Columns] to receive the results at their positions and zeros elsewhere.</param>
    /// <exception cref="ArgumentException">A size does not match, <paramref name="ld"/> is too small, or an output overlaps an input.</exception>
    public static void SampledProduct(SparseRows pattern, ReadOnlySpan<float> aT, ReadOnlySpan<float> bT, int batch, int ld, Span<float> values, Span<float> dense)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        int padded = CheckTransposed("sparse sampled product", "aT", aT.Length, pattern.Rows, batch, ld);
        CheckTransposed("sparse sampled product", "bT", bT.Length, pattern.Columns, batch, ld);
        if (values.Length != pattern.Count)
        {
            throw new ArgumentException($"sparse sampled product: values has {values.Length} elements for {pattern.Count} entries");
        }

        if (!dense.IsEmpty)
        {
            CheckLength("sparse sampled product", "dense", dense.Length, (long)pattern.Rows * pattern.Columns, pattern.Rows, pattern.Columns);
            dense = dense[..(pattern.Rows * pattern.Columns)];
        }

        if (values.Overlaps(aT) || values.Overlaps(bT) || dense.Overlaps(aT) || dense.Overlaps(bT) || values.Overlaps(dense))
        {
            throw new ArgumentException("sparse sampled product: an output overlaps an input or the other output");
        }

        RunSampledProduct(pattern, aT, bT, padded, ld, batch, values, dense);
    }

    /// <summary>
    /// The forward pass of a sparse linear layer: transposes <paramref name="x"/> into <paramref name="xT"/> (kept by
    /// the caller for <see cref="Backward"/>), then y = x·Wᵀ.
    /// </summary>
    /// <param name="weight">W [out, in] in CSR form with current values.</param>
    /// <param name="x">The input [batch, in].</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="xT">Workspace [in, <see cref="TransposedStride"/>(batch)], overwritten with the transposed input.</param>
    /// <param name="y">The output [batch, out], overwritten.</param>
    /// <exception cref="ArgumentException">A size does not match or spans overlap.</exception>
    public static void Forward(SparseRows weight, ReadOnlySpan<float> x, int batch, Span<float> xT, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int ld = TransposedStride(batch);
        Transpose(x, batch, weight.Columns, xT, ld);
        Multiply(weight, xT, batch, ld, y);
    }

    /// <summary>
    /// The backward pass of a sparse linear layer: transposes <paramref name="dy"/> into <paramref name="dyT"/>, then
    /// the input gradient dx = dy·W and the weight gradient dW = dyᵀ·x at the kept positions.
    /// </summary>
    /// <param name="weight">W [out, in] in CSR form with current values.</param>
    /// <param name="weightTransposed">W's <see cref="SparseRows.Transpose"/> with current values (<see cref="SparseRows.LoadValuesFrom"/>); may be null when <paramref name="dx"/> is empty.</param>
    /// <param name="xT">The transposed input that <see cref="Forward"/> wrote [in, TransposedStride(batch)].</param>
    /// <param name="dy">The output gradient [batch, out].</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="dyT">Workspace [out, TransposedStride(batch)], overwritten with the transposed output gradient.</param>
    /// <param name="dx">The input gradient [batch, in], overwritten; empty to skip it (a first layer).</param>
    /// <param name="weightGradValues">dW at the kept positions, in W's entry order (weight.Count values), overwritten.</param>
    /// <param name="weightGrad">Empty, or the dense dW [out, in]: overwritten, zero at pruned positions.</param>
    /// <exception cref="ArgumentException">A size does not match, the transposed weight does not match the weight, or spans overlap.</exception>
    public static void Backward(
        SparseRows weight, SparseRows? weightTransposed, ReadOnlySpan<float> xT, ReadOnlySpan<float> dy, int batch,
        Span<float> dyT, Span<float> dx, Span<float> weightGradValues, Span<float> weightGrad)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weightTransposed is null && !dx.IsEmpty)
        {
            throw new ArgumentException("sparse backward: the input gradient needs the transposed weight");
        }

        if (weightTransposed is not null && (weightTransposed.Rows != weight.Columns || weightTransposed.Columns != weight.Rows || weightTransposed.Count != weight.Count))
        {
            throw new ArgumentException(
                $"sparse backward: transposed weight [{weightTransposed!.Rows},{weightTransposed.Columns}] with {weightTransposed.Count} entries does not match weight [{weight.Rows},{weight.Columns}] with {weight.Count}");
        }

        int ld = TransposedStride(batch);
        Transpose(dy, batch, weight.Rows, dyT, ld);
        if (!dx.IsEmpty)
        {
            Multiply(weightTransposed!, dyT, batch, ld, dx);
        }

        SampledProduct(weight, dyT, xT, batch, ld, weightGradValues, weightGrad);
    }

    /// <summary>The length of the workspace (xT or dyT) <see cref="Forward"/> and <see cref="Backward"/> need for an operand of <paramref name="features"/> columns and <paramref name="batch"/> rows.</summary>
    /// <param name="features">The operand's features (in for x, out for dy).</param>
    /// <param name="batch">The batch size.</param>
    /// <returns>The number of floats.</returns>
    public static int WorkspaceLength(int features, int batch) => checked(features * TransposedStride(batch));

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

    /// <summary>Checks a transposed operand [features, ld] and returns the padded batch.</summary>
    private static int CheckTransposed(string op, string name, int length, int features, int batch, int ld)
    {
        if (batch < 0)
        {
            throw new ArgumentException($"{op}: batch must be non-negative, got {batch}");
        }

        int padded = PaddedBatch(batch);
        if (ld < padded)
        {
            throw new ArgumentException($"{op}: ld{name}={ld} is smaller than the padded batch {padded} (batch {batch})");
        }

        long needed = features == 0 || padded == 0 ? 0 : ((long)(features - 1) * ld) + padded;
        if (length < needed)
        {
            throw new ArgumentException($"{op}: {name} has {length} elements, expected at least {needed} for [{features},{padded}] ld{name}={ld}");
        }

        return padded;
    }
}
