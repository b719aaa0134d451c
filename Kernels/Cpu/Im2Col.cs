namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Unfolds the sliding windows of a 2-D convolution into columns, so that the convolution of
/// one image becomes one SGEMM: weights [F, C·kh·kw] · cols [C·kh·kw, outH·outW].
/// </summary>
public static unsafe class Im2Col
{
    /// <summary>
    /// Output length of a convolution or pooling window along one axis:
    /// (size + 2·pad − kernel) / stride + 1.
    /// </summary>
    /// <exception cref="ArgumentException">A value is out of range or the window does not fit.</exception>
    public static int OutputSize(int size, int kernel, int stride, int pad)
    {
        if (size < 1 || kernel < 1 || stride < 1 || pad < 0)
        {
            throw new ArgumentException($"conv: invalid window size={size} kernel={kernel} stride={stride} pad={pad}");
        }

        if (size + (2 * pad) < kernel)
        {
            throw new ArgumentException($"conv: kernel {kernel} is larger than the padded input {size}+2·{pad}");
        }

        return ((size + (2 * pad) - kernel) / stride) + 1;
    }

    /// <summary>
    /// Writes cols [C·kh·kw, outH·outW] for one image [C,H,W]: row (ch·kh + ky)·kw + kx holds,
    /// for every output position, the input pixel under kernel tap (ky,kx), or 0 in the padding.
    /// </summary>
    /// <exception cref="ArgumentException">Bad window, or a span shorter than its shape.</exception>
    public static void Forward(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Span<float> cols)
    {
        var (outH, outW) = Check(image.Length, cols.Length, c, h, w, kh, kw, sh, sw, ph, pw);
        fixed (float* pi = image, pc = cols)
        {
            ByChannel(new Windows(pi, pc, c, h, w, kh, kw, sh, sw, ph, pw, outH, outW, backward: false), c, (long)c * kh * kw * outH * outW);
        }
    }

    // Channels [ch0, ch1) of Forward: their cols rows depend on their planes only, so any split of the
    // channels computes every value exactly as one pass does.
    private static void ForwardChannels(ReadOnlySpan<float> image, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW, int ch0, int ch1, Span<float> cols)
    {
        int outSize = outH * outW;
        for (int ch = ch0; ch < ch1; ch++)
        {
            ReadOnlySpan<float> plane = image.Slice(ch * h * w, h * w);
            for (int ky = 0; ky < kh; ky++)
            {
                for (int kx = 0; kx < kw; kx++)
                {
                    Span<float> row = cols.Slice(((((ch * kh) + ky) * kw) + kx) * outSize, outSize);
                    var (x0, x1) = ValidRange(outW, w, sw, kx - pw);
                    for (int oy = 0; oy < outH; oy++)
                    {
                        Span<float> dst = row.Slice(oy * outW, outW);
                        int y = (oy * sh) - ph + ky;
                        if (y < 0 || y >= h)
                        {
                            dst.Clear();
                            continue;
                        }

                        dst[..x0].Clear();
                        dst[x1..].Clear();
                        ReadOnlySpan<float> src = plane.Slice(y * w, w);
                        int x = (x0 * sw) + kx - pw;
                        if (sw == 1)
                        {
                            src.Slice(x, x1 - x0).CopyTo(dst[x0..x1]);
                        }
                        else
                        {
                            for (int ox = x0; ox < x1; ox++, x += sw)
                            {
                                dst[ox] = src[x];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Forward"/>: adds every entry of cols [C·kh·kw, outH·outW] into
    /// the image gradient [C,H,W] at the pixel it was copied from (padding entries are dropped).
    /// </summary>
    /// <exception cref="ArgumentException">Bad window, or a span shorter than its shape.</exception>
    public static void Backward(ReadOnlySpan<float> cols, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Span<float> imageGrad)
    {
        var (outH, outW) = Check(imageGrad.Length, cols.Length, c, h, w, kh, kw, sh, sw, ph, pw);
        fixed (float* pi = imageGrad, pc = cols)
        {
            ByChannel(new Windows(pi, pc, c, h, w, kh, kw, sh, sw, ph, pw, outH, outW, backward: true), c, (long)c * kh * kw * outH * outW);
        }
    }

    // Channels [ch0, ch1) of Backward: a channel's gradient plane receives only its own cols rows.
    private static void BackwardChannels(ReadOnlySpan<float> cols, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW, int ch0, int ch1, Span<float> imageGrad)
    {
        int outSize = outH * outW;
        for (int ch = ch0; ch < ch1; ch++)
        {
            Span<float> plane = imageGrad.Slice(ch * h * w, h * w);
            for (int ky = 0; ky < kh; ky++)
            {
                for (int kx = 0; kx < kw; kx++)
                {
                    ReadOnlySpan<float> row = cols.Slice(((((ch * kh) + ky) * kw) + kx) * outSize, outSize);
                    var (x0, x1) = ValidRange(outW, w, sw, kx - pw);
                    for (int oy = 0; oy < outH; oy++)
                    {
                        int y = (oy * sh) - ph + ky;
                        if (y < 0 || y >= h)
                        {
                            continue;
                        }

                        ReadOnlySpan<float> src = row.Slice(oy * outW, outW);
                        Span<float> dst = plane.Slice(y * w, w);
                        int x = (x0 * sw) + kx - pw;
                        if (sw == 1)
                        {
                            System.Numerics.Tensors.TensorPrimitives.Add(dst.Slice(x, x1 - x0), src[x0..x1], dst.Slice(x, x1 - x0));
                        }
                        else
                        {
                            for (int ox = x0; ox < x1; ox++, x += sw)
                            {
                                dst[x] += src[ox];
                            }
                        }
                    }
                }
            }
        }
    }

    // Below this many cols entries a call is too short to be worth waking the workers.
    private const long ParallelThreshold = 1 << 16;

    // Splits the channels into contiguous ranges run on the kernel workers: a channel's cols rows and gradient
    // plane depend on that channel alone, so the result is bit-identical to one pass.
    private static void ByChannel(Windows work, int channels, long entries) =>
        KernelWorkers.RunRanges(work, channels, entries < ParallelThreshold ? 1 : KernelWorkers.MaxParts);

    /// <summary>One im2col or col2im call over pinned data, run a channel range at a time.</summary>
    private readonly struct Windows(float* image, float* cols, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH, int outW, bool backward) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int imageLength = c * h * w, colsLength = c * kh * kw * outH * outW;
            if (backward)
            {
                BackwardChannels(new ReadOnlySpan<float>(cols, colsLength), h, w, kh, kw, sh, sw, ph, pw, outH, outW, start, end, new Span<float>(image, imageLength));
            }
            else
            {
                ForwardChannels(new ReadOnlySpan<float>(image, imageLength), h, w, kh, kw, sh, sw, ph, pw, outH, outW, start, end, new Span<float>(cols, colsLength));
            }
        }
    }

    /// <summary>Output columns [x0, x1) whose input column ox·sw + offset lies inside [0, w).</summary>
    private static (int X0, int X1) ValidRange(int outW, int w, int sw, int offset)
    {
        int x0 = offset >= 0 ? 0 : (-offset + sw - 1) / sw;
        int x1 = w - offset <= 0 ? 0 : Math.Min(outW, ((w - offset - 1) / sw) + 1);
        return (Math.Min(x0, x1), x1);
    }

    private static (int OutH, int OutW) Check(int imageLength, int colsLength, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        if (c < 1)
        {
            throw new ArgumentException($"im2col: channel count must be positive, got {c}");
        }

        int outH = OutputSize(h, kh, sh, ph), outW = OutputSize(w, kw, sw, pw);
        long imageNeeded = (long)c * h * w, colsNeeded = (long)c * kh * kw * outH * outW;
        if (imageLength < imageNeeded)
        {
            throw new ArgumentException($"im2col: image has {imageLength} elements, expected at least {imageNeeded} for [{c},{h},{w}]");
        }

        if (colsLength < colsNeeded)
        {
            throw new ArgumentException($"im2col: cols has {colsLength} elements, expected at least {colsNeeded} for [{c * kh * kw},{outH * outW}]");
        }

        return (outH, outW);
    }
}
