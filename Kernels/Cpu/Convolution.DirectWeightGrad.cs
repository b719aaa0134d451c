using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The weight gradient of a convolution with few output channels (16, as in the first stage of every CIFAR ResNet, or
/// a multiple of 16 whose dW is too small to split by register tiles), without packing the unfolded input.
/// </summary>
/// <remarks>
/// dWᵀ [taps, O] = X̂ [taps, positions] · dYᵀ [positions, O]. Row t of X̂ at position (oh, ow) is one value of the
/// zero-padded image, at the tap's offset plus oh·SH·Wp + ow·SW, so the micro-kernel broadcasts it straight from the
/// padded image instead of gathering a packed panel: with 16 output channels the packing of X̂ (one float written and
/// read per 16 multiply-adds) cost as much as the arithmetic. dYᵀ is transposed once per image (as many floats as
/// dY). A register tile is 6 taps × two Vector512 (32 channels), 12 taps × one Vector512 or 6 taps × two Vector256
/// (16 channels); narrower widths run the same sums through memory. Tiles cover the taps, and a last, partial tile
/// repeats its last tap in the rows it does not need and discards them.
/// <para>
/// The batch is cut into <see cref="WeightGradChunks"/> chunks of images fixed by the shape; within a chunk every
/// element of dWᵀ is, image by image, one chain of fused multiply-adds over the image's positions in order, added to
/// the chunk's sum, and the chunks' sums are added in chunk order, so the result does not depend on the thread count
/// or the SIMD width.
/// </para>
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>
    /// Whether the weight gradient of <paramref name="s"/> takes the direct path (at every SIMD width): output channels
    /// a multiple of 16, and either exactly 16 or a dW too small to split by its register tiles.
    /// </summary>
    internal static bool DirectWeightGradApplies(ConvShape s) => s.O % 16 == 0 && (s.O == 16 || WeightGradChunks(s) > 1);

    private enum Tile
    {
        Rows12x1,
        Rows6x2,
        Loop,
    }

    private static void DirectWeightGrad(float* x, float* dy, ConvShape s, float* dw, int width)
    {
        int taps = s.Taps, o = s.O, chunks = WeightGradChunks(s), size = taps * o;
        float[] partial = ArrayPool<float>.Shared.Rent(chunks * size);
        int[] offsets = TapOffsets(s);
        try
        {
            fixed (float* pp = partial)
            fixed (int* po = offsets)
            {
                KernelWorkers.RunRanges(new DirectWeightGradWork(x, dy, pp, po, s, width, chunks), chunks, Parts(s));

                // Chunk sums in chunk order, then dW [o, t] = dWᵀ [t, o].
                var total = new Span<float>(pp, size);
                for (int c = 1; c < chunks; c++)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(total, new ReadOnlySpan<float>(pp + ((nint)c * size), size), total);
                }

                for (int t = 0; t < taps; t++)
                {
                    for (int j = 0; j < o; j++)
                    {
                        dw[((nint)j * taps) + t] = pp[((nint)t * o) + j];
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partial);
            ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>dWᵀ of chunks [start, end) of images, each into its own slice of the partial sums.</summary>
    private readonly struct DirectWeightGradWork(float* x, float* dy, float* partial, int* offsets, ConvShape s, int width, int chunks) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int taps = s.Taps, o = s.O, positions = s.Positions;
            int wp = s.W + (2 * s.PW), padLength = PaddedLength(s);
            float* buffer = Scratch(padLength + (positions * o) + (12 * o) + 16);
            float* bt = buffer + padLength, spare = bt + (positions * o);
            int* tile = stackalloc int[12];
            for (int c = start; c < end; c++)
            {
                float* target = partial + ((nint)c * taps * o);
                int n0 = (int)((long)s.N * c / chunks), n1 = (int)((long)s.N * (c + 1) / chunks);
                for (int i = n0; i < n1; i++)
                {
                    float* image = Padded(x + ((nint)i * s.C * s.H * s.W), s, buffer);
                    Transpose(dy + ((nint)i * o * positions), o, positions, bt);

                    // Column blocks of the widest tile that fits: 32 columns as 6 × two Vector512, 16 as 12 × one
                    // Vector512 or 6 × two Vector256; the narrow widths take every column in one loop.
                    for (int col = 0; col < o;)
                    {
                        var (kind, rows, cols) = width switch
                        {
                            16 when o - col >= 32 => (Tile.Rows6x2, 6, 32),
                            16 => (Tile.Rows12x1, 12, 16),
                            8 => (Tile.Rows6x2, 6, 16),
                            _ => (Tile.Loop, 4, o),
                        };

                        for (int t0 = 0; t0 < taps; t0 += rows)
                        {
                            int valid = Math.Min(rows, taps - t0);
                            for (int r = 0; r < rows; r++)
                            {
                                tile[r] = offsets[t0 + Math.Min(r, valid - 1)];
                            }

                            var k = new DirectTile(image, tile, bt + col, o, s.OH, s.OW, s.SH * wp, s.SW, target + ((nint)t0 * o) + col, valid, i == n0);
                            switch ((kind, width))
                            {
                                case (Tile.Rows6x2, 16): k.Rows6x2<Vector512<float>, Ops512>(); break;
                                case (Tile.Rows12x1, _): k.Rows12x1<Vector512<float>, Ops512>(); break;
                                case (Tile.Rows6x2, _): k.Rows6x2<Vector256<float>, Ops256>(); break;
                                case (_, 4): k.Rows<Vector128<float>, Ops128>(rows, cols, spare); break;
                                default: k.Rows<float, OpsScalar>(rows, cols, spare); break;
                            }
                        }

                        col += cols;
                    }
                }

                if (n0 == n1)
                {
                    new Span<float>(target, taps * o).Clear();
                }
            }
        }

        /// <summary>dst [positions, o] = src [o, positions]ᵀ, in 8×8 blocks where AVX has the shuffles for it.</summary>
        private static void Transpose(float* src, int o, int positions, float* dst)
        {
            int p8 = System.Runtime.Intrinsics.X86.Avx.IsSupported ? positions & ~7 : 0;
            for (int j = 0; j + 8 <= o && p8 > 0; j += 8)
            {
                for (int p = 0; p < p8; p += 8)
                {
                    Sgemm.Transpose8x8(src + ((nint)j * positions) + p, positions, dst + ((nint)p * o) + j, o);
                }
            }

            for (int j = 0; j < o; j++)
            {
                float* row = src + ((nint)j * positions);
                for (int p = p8; p < positions; p++)
                {
                    dst[((nint)p * o) + j] = row[p];
                }
            }
        }
    }

    /// <summary>
    /// One register tile of dWᵀ: rows at tap offsets <c>Taps</c> in the padded image, 16 columns; adds the image's
    /// products to the tile in memory (or overwrites it for the first image of a chunk), storing only the valid rows.
    /// </summary>
    private readonly struct DirectTile(float* image, int* taps, float* bt, int ld, int outH, int outW, int rowStep, int colStep, float* target, int valid, bool overwrite)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows12x1<TV, TOps>()
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            var zero = TOps.Create(0f);
            TV c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, c6 = zero, c7 = zero, c8 = zero, c9 = zero, c10 = zero, c11 = zero;
            float* a0 = image + taps[0], a1 = image + taps[1], a2 = image + taps[2], a3 = image + taps[3], a4 = image + taps[4], a5 = image + taps[5];
            float* a6 = image + taps[6], a7 = image + taps[7], a8 = image + taps[8], a9 = image + taps[9], a10 = image + taps[10], a11 = image + taps[11];
            float* b = bt;
            for (int oh = 0; oh < outH; oh++)
            {
                nint at = (nint)oh * rowStep;
                for (int ow = 0; ow < outW; ow++, at += colStep, b += ld)
                {
                    var v = TOps.Load(b);
                    c0 = TOps.Fma(TOps.Create(a0[at]), v, c0);
                    c1 = TOps.Fma(TOps.Create(a1[at]), v, c1);
                    c2 = TOps.Fma(TOps.Create(a2[at]), v, c2);
                    c3 = TOps.Fma(TOps.Create(a3[at]), v, c3);
                    c4 = TOps.Fma(TOps.Create(a4[at]), v, c4);
                    c5 = TOps.Fma(TOps.Create(a5[at]), v, c5);
                    c6 = TOps.Fma(TOps.Create(a6[at]), v, c6);
                    c7 = TOps.Fma(TOps.Create(a7[at]), v, c7);
                    c8 = TOps.Fma(TOps.Create(a8[at]), v, c8);
                    c9 = TOps.Fma(TOps.Create(a9[at]), v, c9);
                    c10 = TOps.Fma(TOps.Create(a10[at]), v, c10);
                    c11 = TOps.Fma(TOps.Create(a11[at]), v, c11);
                }
            }

            // Stored one by one: gathering the sums into a span would keep every accumulator in memory inside the loop.
            Put<TV, TOps>(0, c0);
            Put<TV, TOps>(1, c1);
            Put<TV, TOps>(2, c2);
            Put<TV, TOps>(3, c3);
            Put<TV, TOps>(4, c4);
            Put<TV, TOps>(5, c5);
            Put<TV, TOps>(6, c6);
            Put<TV, TOps>(7, c7);
            Put<TV, TOps>(8, c8);
            Put<TV, TOps>(9, c9);
            Put<TV, TOps>(10, c10);
            Put<TV, TOps>(11, c11);
        }

        /// <summary>Adds (or, for the first image, writes) the sum at float <paramref name="at"/> of row <paramref name="row"/>, if the row is valid.</summary>
        // Inlined: a call after the loop would make the JIT keep every accumulator in memory inside it.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put<TV, TOps>(int row, TV sum, int at = 0)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            if (row < valid)
            {
                float* dst = target + (row * ld) + at;
                TOps.Store(overwrite ? sum : TOps.Add(TOps.Load(dst), sum), dst);
            }
        }

        /// <summary>
        /// Any number of rows and columns (a multiple of the width), one product at a time through a tile in memory
        /// (<paramref name="spare"/>, rows × cols floats): the narrow widths' path, with the same chain of fused
        /// multiply-adds per element as the register tiles.
        /// </summary>
        public void Rows<TV, TOps>(int rows, int cols, float* spare)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            new Span<float>(spare, rows * cols).Clear();
            float* b = bt;
            for (int oh = 0; oh < outH; oh++)
            {
                nint at = (nint)oh * rowStep;
                for (int ow = 0; ow < outW; ow++, at += colStep, b += ld)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        var a = TOps.Create(image[taps[r] + at]);
                        float* row = spare + (r * cols);
                        for (int j = 0; j < cols; j += TOps.Count)
                        {
                            TOps.Store(TOps.Fma(a, TOps.Load(b + j), TOps.Load(row + j)), row + j);
                        }
                    }
                }
            }

            for (int r = 0; r < valid; r++)
            {
                for (int j = 0; j < cols; j += TOps.Count)
                {
                    Put<TV, TOps>(r, TOps.Load(spare + (r * cols) + j), j);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows6x2<TV, TOps>()
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            var zero = TOps.Create(0f);
            TV c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, d0 = zero, d1 = zero, d2 = zero, d3 = zero, d4 = zero, d5 = zero;
            float* a0 = image + taps[0], a1 = image + taps[1], a2 = image + taps[2], a3 = image + taps[3], a4 = image + taps[4], a5 = image + taps[5];
            float* b = bt;
            int half = TOps.Count;
            for (int oh = 0; oh < outH; oh++)
            {
                nint at = (nint)oh * rowStep;
                for (int ow = 0; ow < outW; ow++, at += colStep, b += ld)
                {
                    var v = TOps.Load(b);
                    var u = TOps.Load(b + half);
                    var x0 = TOps.Create(a0[at]);
                    c0 = TOps.Fma(x0, v, c0);
                    d0 = TOps.Fma(x0, u, d0);
                    var x1 = TOps.Create(a1[at]);
                    c1 = TOps.Fma(x1, v, c1);
                    d1 = TOps.Fma(x1, u, d1);
                    var x2 = TOps.Create(a2[at]);
                    c2 = TOps.Fma(x2, v, c2);
                    d2 = TOps.Fma(x2, u, d2);
                    var x3 = TOps.Create(a3[at]);
                    c3 = TOps.Fma(x3, v, c3);
                    d3 = TOps.Fma(x3, u, d3);
                    var x4 = TOps.Create(a4[at]);
                    c4 = TOps.Fma(x4, v, c4);
                    d4 = TOps.Fma(x4, u, d4);
                    var x5 = TOps.Create(a5[at]);
                    c5 = TOps.Fma(x5, v, c5);
                    d5 = TOps.Fma(x5, u, d5);
                }
            }

            Put<TV, TOps>(0, c0);
            Put<TV, TOps>(0, d0, half);
            Put<TV, TOps>(1, c1);
            Put<TV, TOps>(1, d1, half);
            Put<TV, TOps>(2, c2);
            Put<TV, TOps>(2, d2, half);
            Put<TV, TOps>(3, c3);
            Put<TV, TOps>(3, d3, half);
            Put<TV, TOps>(4, c4);
            Put<TV, TOps>(4, d4, half);
            Put<TV, TOps>(5, c5);
            Put<TV, TOps>(5, d5, half);
        }
    }
}
