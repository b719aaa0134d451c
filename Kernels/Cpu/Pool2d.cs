using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// 2-D max and average pooling over planes [N·C, H, W] (row-major), with a kh×kw window,
/// stride (sh,sw) and zero-size padding (ph,pw) on each side. Output planes are
/// [outH, outW] with outH = <see cref="Im2Col.OutputSize"/>(h, kh, sh, ph).
/// </summary>
public static unsafe class Pool2d
{
    /// <summary>
    /// Max pooling: each output is the largest input under its window (padding never wins),
    /// and <paramref name="argmax"/> gets its flat index y·w + x within the input plane (the
    /// first one on ties).
    /// </summary>
    /// <exception cref="ArgumentException">Bad window, or a span shorter than its shape.</exception>
    public static void MaxForward(ReadOnlySpan<float> input, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Span<float> output, Span<int> argmax)
    {
        var (outH, outW) = Check("maxpool", input.Length, output.Length, planes, h, w, kh, kw, sh, sw, ph, pw);
        if (argmax.Length < planes * outH * outW)
        {
            throw new ArgumentException($"maxpool: argmax has {argmax.Length} elements, expected at least {planes * outH * outW}");
        }

        fixed (float* pi = input, po = output)
        fixed (int* pa = argmax)
        {
            var work = new MaxWindows(pi, po, pa, planes, h, w, kh, kw, sh, sw, ph, pw, outH, outW);
            KernelWorkers.RunRanges(work, planes, (long)planes * outH * outW * kh * kw < ParallelThreshold ? 1 : KernelWorkers.MaxParts);
        }
    }

    // Below this many window reads a call is too short to be worth waking the workers.
    private const long ParallelThreshold = 1 << 16;

    // Planes [pl0, pl1) of MaxForward. Planes are independent, so any split computes every output exactly
    // as one pass does.
    private static void MaxPlanes(ReadOnlySpan<float> input, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW, int pl0, int pl1, Span<float> output, Span<int> argmax)
    {
        if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0)
        {
            MaxPlanes2x2(input, h, w, outH, outW, pl0, pl1, output, argmax);
            return;
        }

        for (int pl = pl0; pl < pl1; pl++)
        {
            ReadOnlySpan<float> plane = input.Slice(pl * h * w, h * w);
            int o = pl * outH * outW;
            for (int oy = 0; oy < outH; oy++)
            {
                int y0 = Math.Max((oy * sh) - ph, 0), y1 = Math.Min((oy * sh) - ph + kh, h);
                for (int ox = 0; ox < outW; ox++, o++)
                {
                    int x0 = Math.Max((ox * sw) - pw, 0), x1 = Math.Min((ox * sw) - pw + kw, w);
                    float best = float.NegativeInfinity;
                    int bestAt = -1;
                    for (int y = y0; y < y1; y++)
                    {
                        for (int x = x0; x < x1; x++)
                        {
                            float v = plane[(y * w) + x];

                            // NaN propagates like PyTorch: a NaN input wins the window.
                            if (bestAt < 0 || v > best || float.IsNaN(v))
                            {
                                best = v;
                                bestAt = (y * w) + x;
                                if (float.IsNaN(v))
                                {
                                    goto done;
                                }
                            }
                        }
                    }

                done:
                    output[o] = best;
                    argmax[o] = bestAt;
                }
            }
        }
    }

    // The 2×2, stride-2 window of most networks, with the general loop's rules: window order (0,0), (0,1),
    // (1,0), (1,1); a later value wins only if larger; the first NaN wins and ends the window.
    private static void MaxPlanes2x2(ReadOnlySpan<float> input, int h, int w, int outH, int outW, int pl0, int pl1, Span<float> output, Span<int> argmax)
    {
        fixed (float* pin = input, pout = output)
        fixed (int* pidx = argmax)
        {
            for (int pl = pl0; pl < pl1; pl++)
            {
                float* plane = pin + ((nint)pl * h * w);
                nint o = (nint)pl * outH * outW;
                for (int oy = 0; oy < outH; oy++)
                {
                    int top = 2 * oy * w;
                    float* r0 = plane + top, r1 = r0 + w;
                    int ox = 0;
                    if (Avx2.IsSupported)
                    {
                        for (; ox <= outW - 8; ox += 8, o += 8)
                        {
                            Max2x2Vector(r0 + (2 * ox), r1 + (2 * ox), top + (2 * ox), w, pout + o, pidx + o);
                        }
                    }

                    for (; ox < outW; ox++, o++)
                    {
                        int x = 2 * ox;
                        float best = r0[x];
                        int at = top + x;
                        if (!float.IsNaN(best))
                        {
                            if (Takes(r0[x + 1], ref best))
                            {
                                at = top + x + 1;
                            }

                            if (!float.IsNaN(best) && Takes(r1[x], ref best))
                            {
                                at = top + w + x;
                            }

                            if (!float.IsNaN(best) && Takes(r1[x + 1], ref best))
                            {
                                at = top + w + x + 1;
                            }
                        }

                        pout[o] = best;
                        pidx[o] = at;
                    }
                }
            }
        }

        // Eight windows at once with the same rules: a later value is taken where the best so far is not NaN and the
        // value is larger or NaN.
        static void Max2x2Vector(float* r0, float* r1, int index, int w, float* best, int* at)
        {
            var pick = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            var (e0, o0) = Split(Avx2.PermuteVar8x32(Avx.LoadVector256(r0), pick), Avx2.PermuteVar8x32(Avx.LoadVector256(r0 + 8), pick));
            var (e1, o1) = Split(Avx2.PermuteVar8x32(Avx.LoadVector256(r1), pick), Avx2.PermuteVar8x32(Avx.LoadVector256(r1 + 8), pick));
            var first = Vector256.Create(index) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
            Vector256<float> m = e0;
            Vector256<int> i = first;
            Take(o0, first + Vector256.Create(1), ref m, ref i);
            Take(e1, first + Vector256.Create(w), ref m, ref i);
            Take(o1, first + Vector256.Create(w + 1), ref m, ref i);
            Avx.Store(best, m);
            Avx.Store(at, i);
        }

        static (Vector256<float> Even, Vector256<float> Odd) Split(Vector256<float> low, Vector256<float> high) =>
            (Avx.Permute2x128(low, high, 0x20), Avx.Permute2x128(low, high, 0x31));

        static void Take(Vector256<float> v, Vector256<int> index, ref Vector256<float> best, ref Vector256<int> at)
        {
            var take = Vector256.Equals(best, best) & (Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v));
            best = Vector256.ConditionalSelect(take, v, best);
            at = Vector256.ConditionalSelect(take.AsInt32(), index, at);
        }

        static bool Takes(float v, ref float best)
        {
            if (v > best || float.IsNaN(v))
            {
                best = v;
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// Backward of <see cref="MaxForward"/> over the whole batch: inputGrad [planes, h·w] is zeroed, then each output
    /// gradient is added at its window's maximum. <paramref name="argmax"/> holds flat indices into inputGrad (plane
    /// offset included), each inside the plane of its output; planes are split across the cores.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an index lies outside its plane.</exception>
    public static void MaxBackward(ReadOnlySpan<float> outputGrad, ReadOnlySpan<int> argmax, int planes, int inPlane, int outPlane, Span<float> inputGrad)
    {
        if (planes < 0 || inPlane < 1 || outPlane < 1 || outputGrad.Length < (long)planes * outPlane || argmax.Length < (long)planes * outPlane
            || inputGrad.Length < (long)planes * inPlane)
        {
            throw new ArgumentException($"maxpool backward: {planes} planes of {inPlane} inputs and {outPlane} outputs do not fit output gradient {outputGrad.Length}, argmax {argmax.Length}, input gradient {inputGrad.Length}");
        }

        fixed (float* pg = outputGrad, pdx = inputGrad)
        fixed (int* pa = argmax)
        {
            var work = new MaxScatter(pg, pa, pdx, inPlane, outPlane);
            KernelWorkers.RunRanges(work, planes, (long)planes * inPlane < ParallelThreshold ? 1 : KernelWorkers.MaxParts);
            if (work.Stray() is { } stray)
            {
                throw new ArgumentException($"maxpool backward: argmax[{stray}] = {argmax[stray]} lies outside plane {stray / outPlane} of {inPlane} inputs");
            }
        }
    }

    /// <summary>Planes of a max-pooling backward; an index outside its plane is skipped and reported afterwards.</summary>
    private readonly struct MaxScatter(float* dy, int* argmax, float* dx, int inPlane, int outPlane) : IRangeWork
    {
        private readonly int[] _stray = [-1];

        public int? Stray() => _stray[0] >= 0 ? _stray[0] : null;

        public void Run(int start, int end)
        {
            new Span<float>(dx + ((nint)start * inPlane), (end - start) * inPlane).Clear();
            for (int pl = start; pl < end; pl++)
            {
                int lo = pl * inPlane, hi = lo + inPlane;
                for (int o = pl * outPlane, oEnd = o + outPlane; o < oEnd; o++)
                {
                    int at = argmax[o];
                    if ((uint)(at - lo) < (uint)(hi - lo))
                    {
                        dx[at] += dy[o];
                    }
                    else
                    {
                        Interlocked.CompareExchange(ref _stray[0], o, -1);
                    }
                }
            }
        }
    }

    /// <summary>One max-pooling call over pinned data, run a range of planes at a time.</summary>
    private readonly struct MaxWindows(float* input, float* output, int* argmax, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int inLength = planes * h * w, outLength = planes * outH * outW;
            MaxPlanes(new ReadOnlySpan<float>(input, inLength), h, w, kh, kw, sh, sw, ph, pw, outH, outW, start, end, new Span<float>(output, outLength), new Span<int>(argmax, outLength));
        }
    }

    /// <summary>
    /// Average pooling with padding counted in the divisor (PyTorch's default
    /// count_include_pad = true): every output is the window sum divided by kh·kw.
    /// </summary>
    /// <exception cref="ArgumentException">Bad window, or a span shorter than its shape.</exception>
    public static void AvgForward(ReadOnlySpan<float> input, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Span<float> output)
    {
        var (outH, outW) = Check("avgpool", input.Length, output.Length, planes, h, w, kh, kw, sh, sw, ph, pw);
        float scale = 1f / (kh * kw);
        for (int pl = 0; pl < planes; pl++)
        {
            ReadOnlySpan<float> plane = input.Slice(pl * h * w, h * w);
            int o = pl * outH * outW;
            for (int oy = 0; oy < outH; oy++)
            {
                int y0 = Math.Max((oy * sh) - ph, 0), y1 = Math.Min((oy * sh) - ph + kh, h);
                for (int ox = 0; ox < outW; ox++, o++)
                {
                    int x0 = Math.Max((ox * sw) - pw, 0), x1 = Math.Min((ox * sw) - pw + kw, w);
                    float sum = 0;
                    for (int y = y0; y < y1; y++)
                    {
                        for (int x = x0; x < x1; x++)
                        {
                            sum += plane[(y * w) + x];
                        }
                    }

                    output[o] = sum * scale;
                }
            }
        }
    }

    /// <summary>
    /// Backward of <see cref="AvgForward"/>: adds each output gradient / (kh·kw) to every
    /// input position of its window (the share that fell on padding is dropped).
    /// </summary>
    /// <exception cref="ArgumentException">Bad window, or a span shorter than its shape.</exception>
    public static void AvgBackward(ReadOnlySpan<float> outputGrad, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Span<float> inputGrad)
    {
        var (outH, outW) = Check("avgpool", inputGrad.Length, outputGrad.Length, planes, h, w, kh, kw, sh, sw, ph, pw);
        float scale = 1f / (kh * kw);
        for (int pl = 0; pl < planes; pl++)
        {
            Span<float> plane = inputGrad.Slice(pl * h * w, h * w);
            int o = pl * outH * outW;
            for (int oy = 0; oy < outH; oy++)
            {
                int y0 = Math.Max((oy * sh) - ph, 0), y1 = Math.Min((oy * sh) - ph + kh, h);
                for (int ox = 0; ox < outW; ox++, o++)
                {
                    int x0 = Math.Max((ox * sw) - pw, 0), x1 = Math.Min((ox * sw) - pw + kw, w);
                    float g = outputGrad[o] * scale;
                    for (int y = y0; y < y1; y++)
                    {
                        for (int x = x0; x < x1; x++)
                        {
                            plane[(y * w) + x] += g;
                        }
                    }
                }
            }
        }
    }

    private static (int OutH, int OutW) Check(string op, int inputLength, int outputLength, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        if (planes < 0)
        {
            throw new ArgumentException($"{op}: plane count must be non-negative, got {planes}");
        }

        if (2 * ph > kh || 2 * pw > kw)
        {
            // A window could then lie entirely in padding and have no input to take.
            throw new ArgumentException($"{op}: padding ({ph},{pw}) must be at most half the kernel ({kh},{kw})");
        }

        int outH = Im2Col.OutputSize(h, kh, sh, ph), outW = Im2Col.OutputSize(w, kw, sw, pw);
        long inputNeeded = (long)planes * h * w, outputNeeded = (long)planes * outH * outW;
        if (inputLength < inputNeeded)
        {
            throw new ArgumentException($"{op}: input has {inputLength} elements, expected at least {inputNeeded} for [{planes},{h},{w}]");
        }

        if (outputLength < outputNeeded)
        {
            throw new ArgumentException($"{op}: output has {outputLength} elements, expected at least {outputNeeded} for [{planes},{outH},{outW}]");
        }

        return (outH, outW);
    }
}
