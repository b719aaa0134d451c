using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmSgemmArgs>? _gemmSgemm;

    /// <summary>
    /// C_b = op(A_b)·op(B_b ⊙ M_b) (+ C_b when <paramref name="accumulate"/>) for b in [0, <paramref name="batch"/>),
    /// row-major with leading dimensions and batch strides in elements; op(X) = Xᵀ when the transpose flag is set.
    /// </summary>
    /// <remarks>
    /// <para>A masked weight is never materialised: the mask is applied while B's tile is loaded, so the result has the
    /// bits of the unmasked product with B ⊙ M, and B is left as it is.</para>
    /// <para>Each C element is one multiply-add chain in increasing k order, computed by one thread: the same inputs give
    /// the same bits on every launch. With k = 0, C is zeroed (or left as it is when accumulating).</para>
    /// </remarks>
    /// <param name="transA">Use Aᵀ; A_b is then stored k×m.</param>
    /// <param name="transB">Use Bᵀ; B_b is then stored n×k.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="a">A, row-major.</param>
    /// <param name="lda">Row stride of A as stored (at least its column count).</param>
    /// <param name="strideA">Elements from A_b to A_(b+1) (0 repeats one A for every batch item).</param>
    /// <param name="b">B, row-major.</param>
    /// <param name="ldb">Row stride of B as stored (at least its column count).</param>
    /// <param name="strideB">Elements from B_b to B_(b+1) (0 repeats one B).</param>
    /// <param name="c">C, row-major; must not overlap A, B or the mask.</param>
    /// <param name="ldc">Row stride of C (at least n).</param>
    /// <param name="strideC">Elements from C_b to C_(b+1); the batch items of C must not overlap.</param>
    /// <param name="batch">Products to compute.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <param name="maskB">The mask of B, in B's layout (<paramref name="ldb"/>, <paramref name="strideB"/>), or an
    /// empty view for no mask.</param>
    /// <exception cref="ArgumentException">A dimension is negative, a leading dimension or stride is too small, a view
    /// is too short for its dimensions, or C overlaps an input.</exception>
    public void Sgemm(bool transA, bool transB, int m, int n, int k,
        ArrayView<float> a, int lda, long strideA,
        ArrayView<float> b, int ldb, long strideB,
        ArrayView<float> c, int ldc, long strideC,
        int batch, bool accumulate, ArrayView<float> maskB = default)
    {
        if (m < 0 || n < 0 || k < 0 || batch < 0)
        {
            throw new ArgumentException($"gpu sgemm: dimensions must be non-negative, got m={m} n={n} k={k} batch={batch}");
        }

        bool masked = maskB.Length > 0;
        long spanA = GemmOperandSpan("a", a.Length, transA ? k : m, transA ? m : k, lda, strideA, batch);
        long spanB = GemmOperandSpan("b", b.Length, transB ? n : k, transB ? k : n, ldb, strideB, batch);
        long spanC = GemmOperandSpan("c", c.Length, m, n, ldc, strideC, batch);
        if (masked)
        {
            GemmOperandSpan("maskB", maskB.Length, transB ? n : k, transB ? k : n, ldb, strideB, batch);
        }

        if (m == 0 || n == 0 || batch == 0 || (k == 0 && accumulate))
        {
            return;
        }

        if (batch > 1 && strideC < ((long)(m - 1) * ldc) + n)
        {
            throw new ArgumentException($"gpu sgemm: strideC={strideC} makes the {batch} products [{m},{n}] ldc={ldc} overlap");
        }

        if (GemmOverlaps(c, spanC, a, spanA) || GemmOverlaps(c, spanC, b, spanB) || (masked && GemmOverlaps(c, spanC, maskB, spanB)))
        {
            throw new ArgumentException($"gpu sgemm: c [{m},{n}] ldc={ldc} overlaps an input");
        }

        var args = new GemmSgemmArgs(m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batch, transA, transB, accumulate, masked);
        var config = GemmConfig(m, n, batch);
        Cached(ref _gemmSgemm, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmSgemmArgs>(SgemmKernel, GemmLaunchBounds))(
            config, a, b, c, masked ? maskB : b, args);
    }

    /// <summary>The explicitly grouped SGEMM kernel: one 128×128 block of one product per group.</summary>
    [GpuKernel(explicitlyGrouped: true)]
    internal static void SgemmKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> mask, GemmSgemmArgs args) =>
        GemmTiles.Run(
            new GemmStridedLoader(a, a, false, args.Lda, args.StrideA, lineMajor: args.TransA == 0),
            new GemmStridedLoader(b, mask, args.Masked != 0, args.Ldb, args.StrideB, lineMajor: args.TransB != 0),
            new GemmStridedStore(c, args.Ldc, args.StrideC, args.Accumulate != 0),
            args.M, args.N, args.K, args.Batch, 0);

    // Launch bounds of the tiled kernels (.maxntid 256, .minnctapersm 2): the register allocator keeps to 128 registers
    // a thread so two groups share a multiprocessor, and one group's barrier or loads overlap the other's arithmetic.
    private static KernelSpecialization GemmLaunchBounds => new(GemmTiles.Threads, 2);

    // The launch shape of the tiled core: column blocks on X, row blocks on Y and problems on Z (both strided in the
    // kernel beyond what CUDA's grid holds).
    private static KernelConfig GemmConfig(int m, int n, int problems) =>
        new(
            new Index3D(GroupsFor(n, GemmTiles.BlockN), Math.Min(GroupsFor(m, GemmTiles.BlockM), GemmTiles.MaxGridYZ), Math.Min(problems, GemmTiles.MaxGridYZ)),
            new Index3D(GemmTiles.Threads, 1, 1));

    // Checks one operand's leading dimension, stride and length; returns the elements it spans.
    private static long GemmOperandSpan(string name, long length, int rows, int cols, int ld, long stride, int batch)
    {
        if (ld < Math.Max(cols, 1))
        {
            throw new ArgumentException($"gpu sgemm: ld {ld} of {name} is smaller than its {cols} columns ([{rows},{cols}])");
        }

        if (stride < 0)
        {
            throw new ArgumentException($"gpu sgemm: the batch stride {stride} of {name} is negative");
        }

        long needed = rows == 0 || cols == 0 || batch == 0 ? 0 : ((batch - 1) * stride) + ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException($"gpu sgemm: {name} has {length} elements, expected at least {needed} for {batch} × [{rows},{cols}] ld={ld} stride={stride}");
        }

        return needed;
    }

    // Whether the first outputSpan elements of the output and the first inputSpan elements of an input share memory
    // (views of one accelerator live in one address space, so their element addresses compare).
    private static bool GemmOverlaps(ArrayView<float> output, long outputSpan, ArrayView<float> input, long inputSpan)
    {
        if (outputSpan == 0 || inputSpan == 0 || output.Length == 0 || input.Length == 0)
        {
            return false;
        }

        long o = output.LoadEffectiveAddressAsPtr().ToInt64(), i = input.LoadEffectiveAddressAsPtr().ToInt64();
        return o < i + (inputSpan * sizeof(float)) && i < o + (outputSpan * sizeof(float));
    }
}
