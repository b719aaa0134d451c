using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Single-precision general matrix multiply over row-major spans, in the GotoBLAS/BLIS
/// style: panels of B and blocks of A are packed into contiguous, zero-padded buffers laid
/// out in the order the register-blocked micro-kernel reads them, so the inner loop streams
/// memory linearly whatever the source layout (transposes are absorbed by the packing).
/// </summary>
/// <remarks>
/// Determinism: the k dimension is cut into blocks of a fixed size that depends on nothing
/// but k, and each C element is summed block by block in increasing k; threads split only the
/// m or n dimension. So every element is computed by the same sequence of operations no
/// matter how many threads run or which thread computes it, and results are bit-identical
/// run to run (on a given machine, since the SIMD width chosen at run time changes nothing
/// in the per-element order but the scalar fallback has its own rounding).
/// </remarks>
public static unsafe class Sgemm
{
    /// <summary>Rows of the register tile.</summary>
    internal const int MR = 6;

    /// <summary>Columns of the register tile (two Vector512).</summary>
    internal const int NR = 32;

    /// <summary>Depth of a packed block: the k loop is cut at multiples of this.</summary>
    internal const int KC = 256;

    /// <summary>Rows of a packed A block (a multiple of <see cref="MR"/>), sized for L2.</summary>
    internal const int MC = 240;

    /// <summary>Columns of a packed B panel (a multiple of <see cref="NR"/>), sized for L3.</summary>
    internal const int NC = 1024;

    /// <summary>Below this m·n·k the call runs on the calling thread alone.</summary>
    internal const long ParallelThreshold = 64L * 64 * 64;

    /// <summary>
    /// Forces a SIMD width for tests of the fallback paths: 0 = widest available, otherwise
    /// 16, 8, 4 or 1 floats. Never set outside tests.
    /// </summary>
    internal static int ForcedWidth { get; set; }

    /// <summary>Caps the threads one call uses (0 = all workers); for benchmarks and tests.</summary>
    internal static int ThreadLimit { get; set; }

    [ThreadStatic]
    private static float[]? packStore;

    [ThreadStatic]
    private static GemmWork? cachedWork;

    /// <summary>
    /// Computes C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is set,
    /// where C is m×n with row stride <paramref name="ldc"/>. op(A) is m×k: A itself (stored
    /// m×k, row stride <paramref name="lda"/>) or, with <paramref name="transA"/>, Aᵀ of an A
    /// stored k×m. Likewise op(B) is k×n: B stored k×n, or Bᵀ of a B stored n×k.
    /// </summary>
    /// <param name="transA">Use Aᵀ; A is then stored k×m.</param>
    /// <param name="transB">Use Bᵀ; B is then stored n×k.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="a">A, row-major.</param>
    /// <param name="lda">Row stride of A as stored (at least its column count).</param>
    /// <param name="b">B, row-major.</param>
    /// <param name="ldb">Row stride of B as stored (at least its column count).</param>
    /// <param name="c">C, row-major; must not overlap A or B.</param>
    /// <param name="ldc">Row stride of C (at least n).</param>
    /// <param name="accumulate">Add to C instead of overwriting it. With k = 0 and no
    /// accumulation, C is zeroed.</param>
    /// <exception cref="ArgumentException">A dimension is negative, a stride is too small, a
    /// span is too short for its dimensions, or C overlaps A or B.</exception>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"sgemm: dimensions must be non-negative, got m={m} n={n} k={k}");
        }

        CheckOperand("a", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckOperand("b", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckOperand("c", c.Length, m, n, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (Overlaps(c, a, m, n, ldc) || Overlaps(c, b, m, n, ldc))
        {
            throw new ArgumentException($"sgemm: c [{m},{n}] ldc={ldc} overlaps an input");
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                {
                    c.Slice(i * ldc, n).Clear();
                }
            }

            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            var work = cachedWork ??= new GemmWork();
            work.Set(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, SelectWidth());
            int parts = (long)m * n * k < ParallelThreshold ? 1 : KernelWorkers.MaxParts;
            if (ThreadLimit > 0)
            {
                parts = Math.Min(parts, ThreadLimit);
            }

            if (parts == 1)
            {
                work.Execute(0, 1);
            }
            else
            {
                KernelWorkers.Run(work, parts);
            }

            work.Clear();
        }
    }

    private static void CheckOperand(string name, int length, int rows, int cols, int ld)
    {
        if (ld < Math.Max(cols, 1))
        {
            throw new ArgumentException($"sgemm: ld{name}={ld} is smaller than the {cols} columns of {name} [{rows},{cols}]");
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException($"sgemm: {name} has {length} elements, expected at least {needed} for [{rows},{cols}] ld{name}={ld}");
        }
    }

    private static bool Overlaps(Span<float> c, ReadOnlySpan<float> input, int m, int n, int ldc)
    {
        if (input.IsEmpty)
        {
            return false;
        }

        int used = ((m - 1) * ldc) + n;
        return c[..used].Overlaps(input);
    }

    /// <summary>The SIMD width (floats) the micro-kernel runs at: the widest accelerated, or a narrower forced one.</summary>
    internal static int SelectWidth()
    {
        int widest = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;
        int forced = ForcedWidth;
        return forced != 0 && forced < widest ? forced : widest;
    }

    /// <summary>Per-thread packing buffers: B panel, then A block, 64-byte aligned, with slack after A for the packing's overlapping stores.</summary>
    private static float* PackBuffers(out float* packA)
    {
        const int bFloats = KC * NC;
        const int aFloats = KC * MC;
        var store = packStore ??= GC.AllocateUninitializedArray<float>(bFloats + aFloats + 32, pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref store[0]);
        p = (float*)(((nint)p + 63) & ~(nint)63);
        packA = p + bFloats;
        return p;
    }

    /// <summary>The arguments of one call, shared by the parts of a parallel run.</summary>
    private sealed class GemmWork : IPartitionedWork
    {
        private bool transA, transB, accumulate;
        private int m, n, k, lda, ldb, ldc, width;
        private float* a, b, c;

        public void Set(bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int width)
        {
            (this.transA, this.transB, this.m, this.n, this.k) = (transA, transB, m, n, k);
            this.a = a;
            this.b = b;
            this.c = c;
            (this.lda, this.ldb, this.ldc) = (lda, ldb, ldc);
            (this.accumulate, this.width) = (accumulate, width);
        }

        public void Clear()
        {
            a = null;
            b = null;
            c = null;
        }

        public void Execute(int part, int parts)
        {
            // Split whichever of m and n gives every part more register tiles; the split only
            // decides who computes an element, never how, so it cannot change any result.
            int nTiles = (n + NR - 1) / NR, mTiles = (m + MR - 1) / MR;
            if (nTiles >= mTiles || mTiles < parts)
            {
                int t0 = (int)((long)nTiles * part / parts), t1 = (int)((long)nTiles * (part + 1) / parts);
                Blocked(0, m, t0 * NR, Math.Min(n, t1 * NR));
            }
            else
            {
                int t0 = (int)((long)mTiles * part / parts), t1 = (int)((long)mTiles * (part + 1) / parts);
                Blocked(t0 * MR, Math.Min(m, t1 * MR), 0, n);
            }
        }

        private void Blocked(int i0, int i1, int j0, int j1)
        {
            if (i0 >= i1 || j0 >= j1)
            {
                return;
            }

            float* bp = PackBuffers(out float* ap);
            for (int jc = j0; jc < j1; jc += NC)
            {
                int nc = Math.Min(NC, j1 - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    bool overwrite = pc == 0 && !accumulate;
                    PackB(b, ldb, transB, pc, kc, jc, nc, bp);
                    for (int ic = i0; ic < i1; ic += MC)
                    {
                        int mc = Math.Min(MC, i1 - ic);
                        PackA(a, lda, transA, ic, mc, pc, kc, ap);
                        MacroKernel(ap, bp, mc, nc, kc, c + ((nint)ic * ldc) + jc, ldc, overwrite, width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// C (mc×nc, row stride ldc) = or += the packed A block (mc rows in MR-tall panels of depth kc) times the packed B
    /// block (nc columns in NR-wide panels of depth kc), one register tile at a time.
    /// </summary>
    internal static void MacroKernel(float* ap, float* bp, int mc, int nc, int kc, float* c, nint ldc, bool overwrite, int width)
    {
        float* tile = stackalloc float[(MR * NR) + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63);
        for (int jr = 0; jr < nc; jr += NR)
        {
            int cols = Math.Min(NR, nc - jr);
            float* bPanel = bp + ((nint)jr * kc);
            for (int ir = 0; ir < mc; ir += MR)
            {
                int rows = Math.Min(MR, mc - ir);
                float* aPanel = ap + ((nint)ir * kc);
                float* cTile = c + ((nint)ir * ldc) + jr;
                if (rows == MR && cols == NR && width >= 8)
                {
                    if (width == 16)
                    {
                        Kernel512(aPanel, bPanel, kc, cTile, ldc, overwrite);
                    }
                    else
                    {
                        Kernel256(aPanel, bPanel, kc, cTile, ldc, overwrite);
                    }

                    continue;
                }

                // Edge tiles (and the narrower fallbacks) compute the whole zero-padded tile
                // into a scratch tile, then write back only the valid part.
                switch (width)
                {
                    case 16: Kernel512(aPanel, bPanel, kc, tile, NR, true); break;
                    case 8: Kernel256(aPanel, bPanel, kc, tile, NR, true); break;
                    case 4: Kernel128(aPanel, bPanel, kc, tile); break;
                    default: KernelScalar(aPanel, bPanel, kc, tile); break;
                }

                for (int i = 0; i < rows; i++)
                {
                    float* src = tile + (i * NR);
                    float* dst = cTile + (i * ldc);
                    if (overwrite)
                    {
                        new ReadOnlySpan<float>(src, cols).CopyTo(new Span<float>(dst, cols));
                    }
                    else
                    {
                        for (int j = 0; j < cols; j++)
                        {
                            dst[j] += src[j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs rows [pc, pc+kc) × columns [jc, jc+nc) of op(B) into NR-wide micro-panels:
    /// panel j holds kc rows of NR consecutive floats, zero-padded past nc.
    /// </summary>
    internal static void PackB(float* b, nint ldb, bool transB, int pc, int kc, int jc, int nc, float* dst)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int cols = Math.Min(NR, nc - jr);
            float* panel = dst + ((nint)jr * kc);
            if (!transB)
            {
                float* src = b + ((nint)pc * ldb) + jc + jr;
                if (cols == NR)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        Vector256.Store(Vector256.Load(src), panel);
                        Vector256.Store(Vector256.Load(src + 8), panel + 8);
                        Vector256.Store(Vector256.Load(src + 16), panel + 16);
                        Vector256.Store(Vector256.Load(src + 24), panel + 24);
                        src += ldb;
                        panel += NR;
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        int j = 0;
                        for (; j < cols; j++)
                        {
                            panel[j] = src[j];
                        }

                        for (; j < NR; j++)
                        {
                            panel[j] = 0;
                        }

                        src += ldb;
                        panel += NR;
                    }
                }
            }
            else
            {
                // B is stored n×k: column j of op(B) is row j of B, contiguous in p. Full
                // 8×8 blocks go through an in-register transpose; the rest element by element.
                int p8 = Avx.IsSupported && cols == NR ? kc & ~7 : 0;
                int jFull = p8 > 0 ? NR : 0;
                for (int j8 = 0; j8 < jFull; j8 += 8)
                {
                    float* src = b + ((nint)(jc + jr + j8) * ldb) + pc;
                    for (int p = 0; p < p8; p += 8)
                    {
                        Transpose8x8(src + p, ldb, panel + (p * NR) + j8, NR);
                    }
                }

                for (int j = 0; j < cols; j++)
                {
                    float* src = b + ((nint)(jc + jr + j) * ldb) + pc;
                    for (int p = p8; p < kc; p++)
                    {
                        panel[(p * NR) + j] = src[p];
                    }
                }

                for (int j = cols; j < NR; j++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        panel[(p * NR) + j] = 0;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs rows [ic, ic+mc) × columns [pc, pc+kc) of op(A) into MR-tall micro-panels:
    /// panel i holds kc columns of MR consecutive floats, zero-padded past mc.
    /// </summary>
    internal static void PackA(float* a, nint lda, bool transA, int ic, int mc, int pc, int kc, float* dst)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int rows = Math.Min(MR, mc - ir);
            float* panel = dst + ((nint)ir * kc);
            if (transA)
            {
                // A is stored k×m: the MR values of one p are contiguous.
                float* src = a + ((nint)pc * lda) + ic + ir;
                for (int p = 0; p < kc; p++)
                {
                    int i = 0;
                    for (; i < rows; i++)
                    {
                        panel[i] = src[i];
                    }

                    for (; i < MR; i++)
                    {
                        panel[i] = 0;
                    }

                    src += lda;
                    panel += MR;
                }
            }
            else
            {
                // A full panel goes through 8×8 in-register transposes of rows 0..5 (plus row 5
                // twice more as filler); each 8-float store spills two lanes into the next p's
                // slot, which the next store overwrites (the buffer has slack for the last).
                int p8 = Avx.IsSupported && rows == MR && MR == 6 ? kc & ~7 : 0;
                if (p8 > 0)
                {
                    float* src = a + ((nint)(ic + ir) * lda) + pc;
                    for (int p = 0; p < p8; p += 8)
                    {
                        TransposeA6x8(src + p, lda, panel + (p * MR));
                    }
                }

                for (int i = 0; i < rows; i++)
                {
                    float* src = a + ((nint)(ic + ir + i) * lda) + pc;
                    for (int p = p8; p < kc; p++)
                    {
                        panel[(p * MR) + i] = src[p];
                    }
                }

                for (int i = rows; i < MR; i++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        panel[(p * MR) + i] = 0;
                    }
                }
            }
        }
    }


    /// <summary>Transposes the 8×8 block at src (row stride ld) into dst (row stride ldd).</summary>
    internal static void Transpose8x8(float* src, nint ld, float* dst, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ld);
        Vector256<float> r2 = Avx.LoadVector256(src + (2 * ld)), r3 = Avx.LoadVector256(src + (3 * ld));
        Vector256<float> r4 = Avx.LoadVector256(src + (4 * ld)), r5 = Avx.LoadVector256(src + (5 * ld));
        Vector256<float> r6 = Avx.LoadVector256(src + (6 * ld)), r7 = Avx.LoadVector256(src + (7 * ld));
        Transpose8x8Store(r0, r1, r2, r3, r4, r5, r6, r7, dst, ldd);
    }

    /// <summary>Rows 0..5 of an A panel, 8 columns, transposed into 8 slots of 6 floats.</summary>
    private static void TransposeA6x8(float* src, nint ld, float* dst)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ld);
        Vector256<float> r2 = Avx.LoadVector256(src + (2 * ld)), r3 = Avx.LoadVector256(src + (3 * ld));
        Vector256<float> r4 = Avx.LoadVector256(src + (4 * ld)), r5 = Avx.LoadVector256(src + (5 * ld));
        Transpose8x8Store(r0, r1, r2, r3, r4, r5, r5, r5, dst, MR);
    }

    internal static void Transpose8x8Store(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint ldd)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + (2 * ldd), Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + (3 * ldd), Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + (4 * ldd), Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + (5 * ldd), Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + (6 * ldd), Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + (7 * ldd), Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>
    /// The 6×32 register tile with Vector512: 12 accumulators stay in zmm registers for the whole k loop; each
    /// step loads two vectors of the B micro-panel and broadcasts one A element per row.
    /// </summary>
    private static void Kernel512(float* a, float* b, int kc, float* c, nint ldc, bool overwrite) =>
        Tile<Vector512<float>, Ops512>(a, b, kc, c, ldc, overwrite);

    /// <summary>
    /// The AVX2 micro-kernel: the 6×32 tile as two 6×16 halves, each held in 12 Vector256 accumulators (with the
    /// two B vectors and one broadcast, 15 of the 16 ymm registers) for the whole k loop, as in the BLIS/OpenBLAS
    /// Haswell kernels.
    /// </summary>
    private static void Kernel256(float* a, float* b, int kc, float* c, nint ldc, bool overwrite)
    {
        Tile<Vector256<float>, Ops256>(a, b, kc, c, ldc, overwrite);
        Tile<Vector256<float>, Ops256>(a, b + 16, kc, c + 16, ldc, overwrite);
    }

    /// <summary>
    /// MR rows × two vectors of the packed panel, at the width of <typeparamref name="TOps"/> (the JIT specialises
    /// it per width). Every element accumulates p = 0 … kc−1 in order, one FMA per step, then is stored or added
    /// to C once, so every width computes the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TV, TOps>(float* a, float* b, int kc, float* c, nint ldc, bool overwrite)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        int w = TOps.Count;
        TV c00 = default, c01 = default;
        TV c10 = default, c11 = default;
        TV c20 = default, c21 = default;
        TV c30 = default, c31 = default;
        TV c40 = default, c41 = default;
        TV c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TOps.Load(b), b1 = TOps.Load(b + w);
            TV a0 = TOps.Create(a[0]);
            c00 = TOps.Fma(a0, b0, c00);
            c01 = TOps.Fma(a0, b1, c01);
            TV a1 = TOps.Create(a[1]);
            c10 = TOps.Fma(a1, b0, c10);
            c11 = TOps.Fma(a1, b1, c11);
            TV a2 = TOps.Create(a[2]);
            c20 = TOps.Fma(a2, b0, c20);
            c21 = TOps.Fma(a2, b1, c21);
            TV a3 = TOps.Create(a[3]);
            c30 = TOps.Fma(a3, b0, c30);
            c31 = TOps.Fma(a3, b1, c31);
            TV a4 = TOps.Create(a[4]);
            c40 = TOps.Fma(a4, b0, c40);
            c41 = TOps.Fma(a4, b1, c41);
            TV a5 = TOps.Create(a[5]);
            c50 = TOps.Fma(a5, b0, c50);
            c51 = TOps.Fma(a5, b1, c51);
            a += MR;
            b += NR;
        }

        Put(c00, c01, c, w, overwrite);
        Put(c10, c11, c + ldc, w, overwrite);
        Put(c20, c21, c + (2 * ldc), w, overwrite);
        Put(c30, c31, c + (3 * ldc), w, overwrite);
        Put(c40, c41, c + (4 * ldc), w, overwrite);
        Put(c50, c51, c + (5 * ldc), w, overwrite);

        static void Put(TV left, TV right, float* row, int width, bool overwrite)
        {
            if (!overwrite)
            {
                left = TOps.Add(TOps.Load(row), left);
                right = TOps.Add(TOps.Load(row + width), right);
            }

            TOps.Store(left, row);
            TOps.Store(right, row + width);
        }
    }

    /// <summary>SSE fallback: the tile in row pairs × 8-column groups of Vector128.</summary>
    private static void Kernel128(float* a, float* b, int kc, float* tile)
    {
        for (int col = 0; col < NR; col += 8)
        {
            for (int i0 = 0; i0 < MR; i0 += 2)
            {
                int rows = Math.Min(2, MR - i0);
                Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default;
                float* ap = a + i0, bp = b + col;
                for (int p = 0; p < kc; p++)
                {
                    Vector128<float> b0 = Vector128.Load(bp), b1 = Vector128.Load(bp + 4);
                    Vector128<float> a0 = Vector128.Create(ap[0]);
                    c00 = Vector128.FusedMultiplyAdd(a0, b0, c00);
                    c01 = Vector128.FusedMultiplyAdd(a0, b1, c01);
                    if (rows == 2)
                    {
                        Vector128<float> a1 = Vector128.Create(ap[1]);
                        c10 = Vector128.FusedMultiplyAdd(a1, b0, c10);
                        c11 = Vector128.FusedMultiplyAdd(a1, b1, c11);
                    }

                    ap += MR;
                    bp += NR;
                }

                float* t = tile + (i0 * NR) + col;
                c00.Store(t);
                c01.Store(t + 4);
                if (rows == 2)
                {
                    c10.Store(t + NR);
                    c11.Store(t + NR + 4);
                }
            }
        }
    }

    /// <summary>Portable fallback, one element at a time.</summary>
    private static void KernelScalar(float* a, float* b, int kc, float* tile)
    {
        for (int i = 0; i < MR; i++)
        {
            for (int j = 0; j < NR; j++)
            {
                float sum = 0;
                for (int p = 0; p < kc; p++)
                {
                    sum = MathF.FusedMultiplyAdd(a[(p * MR) + i], b[(p * NR) + j], sum);
                }

                tile[(i * NR) + j] = sum;
            }
        }
    }
}
