using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The forward product of a stride-1 convolution whose output rows are whole vectors, reading the unfolded input
/// straight from the padded image.
/// </summary>
/// <remarks>
/// Y [O, positions] = W [O, taps] · X̂ [taps, positions]. For stride 1, row t of X̂ over a vector of positions that lies
/// in one output row is a vector of the padded image at the tap's offset, so the micro-kernel loads it in place
/// instead of copying it into a packed panel first; and its tile (8 output channels × two Vector512, or 6 × two
/// Vector256) divides the 16 and 32 channels of ResNet's first stages, where the 6-row tile of the packed GEMM left a
/// third of its last tile empty. At AVX-512 on output rows of 8 (ResNet's last stage), a vector's two halves come from
/// two rows and are loaded separately. Each element is, as in the packed GEMM, a chain of fused multiply-adds over the taps
/// in blocks of KC, each block's chain added to the output in order, and the bias added last: the same bits.
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>
    /// Whether the forward product of <paramref name="s"/> reads the image in place at SIMD width
    /// <paramref name="width"/>: stride 1, output rows a whole number of vectors, and the AVX-512 tile, or the AVX2
    /// tile on a padded image of at most 64 KiB. (The AVX2 tile loads its two vectors for 12 multiply-adds where the
    /// AVX-512 one has 16 per two loads; measured on a Zen 4 with AVX-512 off, it beat the packed panels on images up
    /// to 41 KiB (ResNet's 32×16×16) but lost to them by 10–20 % on the 300 KiB of a 64×32×32 image.)
    /// </summary>
    internal static bool DirectForwardApplies(ConvShape s, int width) =>
        s.SH == 1 && s.SW == 1 && s.Positions >= NR
        && (width == 16 || (width == 8 && (long)s.C * (s.H + (2 * s.PH)) * (s.W + (2 * s.PW)) <= 16384))
        && (s.OW % width == 0 || (width == 16 && s.OW % 8 == 0 && s.Positions % 16 == 0));

    /// <summary>
    /// Whether a vector of positions may span two output rows (output rows of 8, 24, … at AVX-512): it is then loaded
    /// as two halves of 8, each inside one row.
    /// </summary>
    private static bool DirectForwardSplitsRows(ConvShape s, int width) => s.OW % width != 0;

    private static int DirectForwardRows(int width) => width == 16 ? 8 : 6;

    private static void DirectForward(float* x, float* w, float* bias, ConvShape s, float* y, int width, bool relu)
    {
        int taps = s.Taps, rows = DirectForwardRows(width), groups = (s.O + rows - 1) / rows;

        // The weights as [group][tap][row], zero past the last channel, so a tap's broadcasts are one cache line.
        float[] packed = ArrayPool<float>.Shared.Rent(groups * taps * rows);
        int[] offsets = TapOffsets(s);
        try
        {
            fixed (float* pw = packed)
            fixed (int* po = offsets)
            {
                for (int g = 0; g < groups; g++)
                {
                    for (int t = 0; t < taps; t++)
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            int o = (g * rows) + r;
                            pw[(((nint)g * taps) + t) * rows + r] = o < s.O ? w[((nint)o * taps) + t] : 0f;
                        }
                    }
                }

                int pairs = ((s.Positions / width) + 1) / 2;
                KernelWorkers.RunRanges(new DirectForwardWork(x, pw, bias, y, po, s, width, pairs, relu), s.N * pairs, FineParts(s));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>Units [start, end) of (image, pair of output vectors), all output channels of each.</summary>
    private readonly struct DirectForwardWork(float* x, float* packedW, float* bias, float* y, int* tapOffsets, ConvShape s, int width, int pairs, bool relu) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int taps = s.Taps, positions = s.Positions, vectors = positions / width, rows = DirectForwardRows(width);
            int wp = s.W + (2 * s.PW), groups = (s.O + rows - 1) / rows, ow = s.OW;
            bool split = DirectForwardSplitsRows(s, width);
            float* buffer = Scratch(PaddedLength(s));
            float* image = null;
            int current = -1;
            for (int u = start; u < end; u++)
            {
                int i = u / pairs, q0 = 2 * (u - (i * pairs)), q1 = Math.Min(q0 + 1, vectors - 1);
                if (i != current)
                {
                    image = Padded(x + ((nint)i * s.C * s.H * s.W), s, buffer);
                    current = i;
                }

                // Each vector's first window in the padded plane (and its upper half's), and its first output position.
                int p0 = q0 * width, p1 = q1 * width, half = width / 2;
                nint base0 = Window(p0), base1 = Window(p1), upper0 = Window(p0 + half), upper1 = Window(p1 + half);
                float* yi = y + ((nint)i * s.O * positions);
                for (int g = 0; g < groups; g++)
                {
                    int o0 = g * rows, valid = Math.Min(rows, s.O - o0);
                    for (int pc = 0; pc < taps; pc += KC)
                    {
                        var k = new DirectForwardTile(
                            image + base0, image + base1, image + upper0, image + upper1, tapOffsets + pc, Math.Min(KC, taps - pc), packedW + ((((nint)g * taps) + pc) * rows),
                            yi + ((nint)o0 * positions) + p0, yi + ((nint)o0 * positions) + p1, positions, valid, q1 != q0, pc == 0);
                        switch (width, split)
                        {
                            case (16, false): k.Rows<Vector512<float>, Ops512, EightRows, Whole>(); break;
                            case (16, true): k.Rows<Vector512<float>, Ops512, EightRows, SplitRows>(); break;
                            default: k.Rows<Vector256<float>, Ops256, SixRows, Whole>(); break;
                        }
                    }

                    if (bias != null || relu)
                    {
                        for (int r = 0; r < valid; r++)
                        {
                            Finish(yi + ((nint)(o0 + r) * positions) + p0, bias, o0 + r, width, relu);
                            if (q1 != q0)
                            {
                                Finish(yi + ((nint)(o0 + r) * positions) + p1, bias, o0 + r, width, relu);
                            }
                        }
                    }
                }
            }

            // A position's window in the padded plane (stride 1: its row times the padded width, plus its column).
            nint Window(int position) => ((nint)(position / ow) * wp) + (position % ow);
        }
    }

    /// <summary>
    /// One register tile: rows output channels × two vectors of positions (in0 and in1 point at the vectors' first
    /// windows, upper0 and upper1 at their upper halves' when a vector spans two rows), over kc taps; stores (first
    /// block) or adds each valid row, the second vector only when it is a vector of its own.
    /// </summary>
    private readonly struct DirectForwardTile(float* in0, float* in1, float* upper0, float* upper1, int* offsets, int kc, float* w, float* out0, float* out1, int ld, int valid, bool second, bool overwrite)
    {
        /// <summary>
        /// <typeparamref name="TRows"/> rows (6 or 8) × two vectors, over the taps; the JIT specialises the method per
        /// row count and drops the two extra rows' accumulators from the six-row form.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Rows<TV, TOps, TRows, TLoad>()
            where TV : struct
            where TOps : struct, IVectorOps<TV>
            where TRows : struct, IRowCount
            where TLoad : struct, IVectorLoad
        {
            var zero = TOps.Create(0f);
            TV c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
            TV c40 = zero, c41 = zero, c50 = zero, c51 = zero, c60 = zero, c61 = zero, c70 = zero, c71 = zero;
            float* a = w;
            for (int t = 0; t < kc; t++, a += TRows.Count)
            {
                int off = offsets[t];
                TV b0 = TLoad.Halves ? TOps.LoadHalves(in0 + off, upper0 + off) : TOps.Load(in0 + off);
                TV b1 = TLoad.Halves ? TOps.LoadHalves(in1 + off, upper1 + off) : TOps.Load(in1 + off);
                TV x0 = TOps.Create(a[0]);
                c00 = TOps.Fma(x0, b0, c00);
                c01 = TOps.Fma(x0, b1, c01);
                TV x1 = TOps.Create(a[1]);
                c10 = TOps.Fma(x1, b0, c10);
                c11 = TOps.Fma(x1, b1, c11);
                TV x2 = TOps.Create(a[2]);
                c20 = TOps.Fma(x2, b0, c20);
                c21 = TOps.Fma(x2, b1, c21);
                TV x3 = TOps.Create(a[3]);
                c30 = TOps.Fma(x3, b0, c30);
                c31 = TOps.Fma(x3, b1, c31);
                TV x4 = TOps.Create(a[4]);
                c40 = TOps.Fma(x4, b0, c40);
                c41 = TOps.Fma(x4, b1, c41);
                TV x5 = TOps.Create(a[5]);
                c50 = TOps.Fma(x5, b0, c50);
                c51 = TOps.Fma(x5, b1, c51);
                if (TRows.Count == 8)
                {
                    TV x6 = TOps.Create(a[6]);
                    c60 = TOps.Fma(x6, b0, c60);
                    c61 = TOps.Fma(x6, b1, c61);
                    TV x7 = TOps.Create(a[7]);
                    c70 = TOps.Fma(x7, b0, c70);
                    c71 = TOps.Fma(x7, b1, c71);
                }
            }

            Put<TV, TOps>(0, c00, c01);
            Put<TV, TOps>(1, c10, c11);
            Put<TV, TOps>(2, c20, c21);
            Put<TV, TOps>(3, c30, c31);
            Put<TV, TOps>(4, c40, c41);
            Put<TV, TOps>(5, c50, c51);
            if (TRows.Count == 8)
            {
                Put<TV, TOps>(6, c60, c61);
                Put<TV, TOps>(7, c70, c71);
            }
        }

        // Inlined: a call after the loop would make the JIT keep every accumulator in memory inside it.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put<TV, TOps>(int row, TV first, TV last)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            if (row >= valid)
            {
                return;
            }

            float* d0 = out0 + ((nint)row * ld);
            TOps.Store(overwrite ? first : TOps.Add(TOps.Load(d0), first), d0);
            if (second)
            {
                float* d1 = out1 + ((nint)row * ld);
                TOps.Store(overwrite ? last : TOps.Add(TOps.Load(d1), last), d1);
            }
        }
    }

    /// <summary>Rows of a forward register tile, fixed per instantiation.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private readonly struct SixRows : IRowCount
    {
        public static int Count => 6;
    }

    private readonly struct EightRows : IRowCount
    {
        public static int Count => 8;
    }

    /// <summary>How a forward tile loads its vectors of the image, fixed per instantiation.</summary>
    private interface IVectorLoad
    {
        static abstract bool Halves { get; }
    }

    private readonly struct Whole : IVectorLoad
    {
        public static bool Halves => false;
    }

    private readonly struct SplitRows : IVectorLoad
    {
        public static bool Halves => true;
    }
}
