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

        long work = (long)planes * outH * outW * kh * kw;
        int parts = work < ParallelThreshold ? 1 : Math.Min(planes, KernelWorkers.MaxParts);
        if (parts > 1)
        {
            fixed (float* pi = input, po = output)
            fixed (int* pa = argmax)
            {
                var job = cachedMaxWork ??= new MaxWork();
                job.Set(pi, po, pa, planes, h, w, kh, kw, sh, sw, ph, pw, outH, outW);
                try
                {
                    KernelWorkers.Run(job, parts);
                }
                finally
                {
                    job.Clear();
                }
            }

            return;
        }

        MaxPlanes(input, h, w, kh, kw, sh, sw, ph, pw, outH, outW, 0, planes, output, argmax);
    }

    // Below this many window reads a call is too short to be worth waking the workers.
    private const long ParallelThreshold = 1 << 16;

    [ThreadStatic]
    private static MaxWork? cachedMaxWork;

    // Planes [pl0, pl1) of MaxForward. Planes are independent, so any split computes every output exactly
    // as one pass does.
    private static void MaxPlanes(ReadOnlySpan<float> input, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW, int pl0, int pl1, Span<float> output, Span<int> argmax)
    {
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

    private sealed class MaxWork : IPartitionedWork
    {
        private float* input, output;
        private int* argmax;
        private int planes, h, w, kh, kw, sh, sw, ph, pw, outH, outW;

        public void Set(float* input, float* output, int* argmax, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW)
        {
            this.input = input;
            this.output = output;
            this.argmax = argmax;
            (this.planes, this.h, this.w, this.kh, this.kw) = (planes, h, w, kh, kw);
            (this.sh, this.sw, this.ph, this.pw, this.outH, this.outW) = (sh, sw, ph, pw, outH, outW);
        }

        public void Clear()
        {
            input = null;
            output = null;
            argmax = null;
        }

        public void Execute(int part, int parts)
        {
            int pl0 = (int)((long)planes * part / parts), pl1 = (int)((long)planes * (part + 1) / parts);
            int inLength = planes * h * w, outLength = planes * outH * outW;
            MaxPlanes(new ReadOnlySpan<float>(input, inLength), h, w, kh, kw, sh, sw, ph, pw, outH, outW, pl0, pl1, new Span<float>(output, outLength), new Span<int>(argmax, outLength));
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
