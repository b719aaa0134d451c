using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Batch normalisation over x seen as [n, channels, hw] (an NCHW tensor with hw = H·W): statistics per channel over
/// its n·hw values, the normalising affine map, and the fused backward pass.
/// </summary>
/// <remarks>
/// Sums run over a channel's values in float vector lanes, in a fixed order, about <see cref="ChunkFloats"/>
/// values at a time (across planes when they are small, a piece of a plane when it is large), and those partial
/// totals are added in double. One thread computes all sums of a channel, and the elementwise passes compute every
/// element on its own, so results are the same bits whatever the number of threads; they depend only on the shape and
/// the SIMD width.
/// </remarks>
public static unsafe class BatchNorm
{
    /// <summary>Floats summed in vector lanes before the total goes into a double.</summary>
    internal const int ChunkFloats = 2048;

    // Below this many elements one thread is faster than waking the workers.
    private const int ParallelThreshold = 1 << 15;

    /// <summary>
    /// y = (x − mean[c])·γ[c]·invStd[c] + β[c]. In training, mean and invStd = 1/√(var + eps) come from the batch
    /// (biased variance over the n·hw values of the channel), and the running statistics, when given, move towards
    /// the batch's: r ← (1 − momentum)·r + momentum·batch, with the unbiased variance for the running variance (as
    /// PyTorch does). In evaluation they come from the running statistics, which are then required and left as they
    /// are. Either way <paramref name="mean"/> and <paramref name="invStd"/> receive the values used, for
    /// <see cref="Backward"/>.
    /// </summary>
    /// <param name="x">The input, n·channels·hw elements.</param>
    /// <param name="n">Images.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="hw">Elements per plane (H·W).</param>
    /// <param name="gamma">Scale per channel.</param>
    /// <param name="beta">Shift per channel.</param>
    /// <param name="training">Batch statistics (true) or running statistics (false).</param>
    /// <param name="momentum">Weight of the batch in the running statistics.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="runningMean">Running mean per channel, or empty in training to leave none.</param>
    /// <param name="runningVar">Running (unbiased) variance per channel, empty exactly when <paramref name="runningMean"/> is.</param>
    /// <param name="mean">Receives the mean used, per channel.</param>
    /// <param name="invStd">Receives 1/√(variance + eps) used, per channel.</param>
    /// <param name="y">The output, as long as x, not overlapping it.</param>
    /// <param name="relu">Whether y is max(·, 0) of the normalised value (batch norm followed by ReLU in one pass).</param>
    /// <param name="addend">
    /// When not empty (as long as x, not overlapping y), added to the normalised value before the ReLU: a residual
    /// block's batch norm, shortcut addition and ReLU in one pass, with the roundings of three separate ops.
    /// </param>
    public static void Forward(
        ReadOnlySpan<float> x, int n, int channels, int hw, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool training, float momentum, float eps,
        Span<float> runningMean, Span<float> runningVar, Span<float> mean, Span<float> invStd, Span<float> y, bool relu = false, ReadOnlySpan<float> addend = default)
    {
        long count = CheckShape("batch_norm", x.Length, n, channels, hw);
        CheckChannels("batch_norm", channels, ("gamma", gamma.Length), ("beta", beta.Length), ("mean", mean.Length), ("invStd", invStd.Length));
        CheckOutput("batch_norm", "y", y, x);
        if (!addend.IsEmpty)
        {
            CheckOutput("batch_norm", "y", y, addend);
        }
        if (runningMean.IsEmpty != runningVar.IsEmpty || (!training && runningMean.IsEmpty))
        {
            throw new ArgumentException($"batch_norm: running mean has {runningMean.Length} and running variance {runningVar.Length} elements; give both (required in evaluation) or neither");
        }

        if (!runningMean.IsEmpty)
        {
            CheckChannels("batch_norm", channels, ("running mean", runningMean.Length), ("running variance", runningVar.Length));
        }

        if (training && channels > 0 && count < 2)
        {
            throw new ArgumentException($"batch_norm: training needs more than one value per channel, got n = {n}, hw = {hw}");
        }

        if (training)
        {
            var batchMean = new double[channels];
            var batchVar = new double[channels];
            fixed (float* px = x)
            fixed (double* pm = batchMean, pv = batchVar)
            {
                KernelWorkers.RunRanges(new StatisticsWork(px, n, channels, hw, pm, pv), channels, Parts(x.Length));
            }

            double unbias = count / (double)(count - 1);
            for (int c = 0; c < channels; c++)
            {
                mean[c] = (float)batchMean[c];
                invStd[c] = (float)(1 / Math.Sqrt(batchVar[c] + eps));
                if (!runningMean.IsEmpty)
                {
                    runningMean[c] = (float)(((1 - (double)momentum) * runningMean[c]) + (momentum * batchMean[c]));
                    runningVar[c] = (float)(((1 - (double)momentum) * runningVar[c]) + (momentum * batchVar[c] * unbias));
                }
            }
        }
        else
        {
            for (int c = 0; c < channels; c++)
            {
                mean[c] = runningMean[c];
                invStd[c] = (float)(1 / Math.Sqrt(runningVar[c] + (double)eps));
            }
        }

        var scale = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] * invStd[c];
        }

        fixed (float* px = x, py = y, pm = mean, ps = scale, pb = beta, pa = addend)
        {
            var pass = (addend.IsEmpty, relu) switch
            {
                (true, false) => Pass.Normalize,
                (true, true) => Pass.NormalizeRelu,
                (false, false) => Pass.NormalizeAdd,
                (false, true) => Pass.NormalizeAddRelu,
            };

            // The addend travels in the gradient's place, which the forward passes do not use.
            var work = new PlaneWork(px, addend.IsEmpty ? null : pa, py, channels, hw, pm, ps, null, pb, null, pass);
            KernelWorkers.RunRanges(work, n * channels, Parts(x.Length));
        }
    }

    /// <summary>
    /// The gradients of <see cref="Forward"/> given dy and the mean and invStd it used: dβ = Σ dy, dγ = Σ dy·x̂ with
    /// x̂ = (x − mean)·invStd, and, when <paramref name="dx"/> is not empty, in training
    /// dx = γ·invStd·(dy − dβ/m − x̂·dγ/m) with m = n·hw (the batch statistics depend on x), in evaluation
    /// dx = γ·invStd·dy. Two passes over the data: the sums per channel, then dx.
    /// </summary>
    /// <param name="x">The forward input, n·channels·hw elements.</param>
    /// <param name="dy">The output gradient, as long as x.</param>
    /// <param name="n">Images.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="hw">Elements per plane (H·W).</param>
    /// <param name="gamma">Scale per channel.</param>
    /// <param name="mean">The mean the forward pass used, per channel.</param>
    /// <param name="invStd">The 1/√(variance + eps) the forward pass used, per channel.</param>
    /// <param name="training">Whether the forward pass used batch statistics.</param>
    /// <param name="dx">Receives the input gradient (as long as x, overlapping neither x nor dy), or empty to skip it.</param>
    /// <param name="dGamma">Receives the gradient of γ.</param>
    /// <param name="dBeta">Receives the gradient of β.</param>
    /// <param name="beta">
    /// With <paramref name="relu"/>, the shift per channel the forward pass used; otherwise ignored (may be empty).
    /// </param>
    /// <param name="relu">
    /// Whether the forward pass applied ReLU (<see cref="Forward"/> with relu): dy is then the gradient of the ReLU's
    /// output, and is taken as +0 wherever the normalised value, recomputed from x with the forward pass's own
    /// operations, was not positive, exactly as a separate ReLU backward would have left it.
    /// </param>
    public static void Backward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int n, int channels, int hw, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        bool training, Span<float> dx, Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> beta = default, bool relu = false)
    {
        long count = CheckShape("batch_norm backward", x.Length, n, channels, hw);
        if (dy.Length != x.Length)
        {
            throw new ArgumentException($"batch_norm backward: x has {x.Length} elements but dy {dy.Length}", nameof(dy));
        }

        CheckChannels("batch_norm backward", channels, ("gamma", gamma.Length), ("mean", mean.Length), ("invStd", invStd.Length), ("dGamma", dGamma.Length), ("dBeta", dBeta.Length));
        if (relu)
        {
            CheckChannels("batch_norm backward", channels, ("beta", beta.Length));
        }
        if (!dx.IsEmpty)
        {
            CheckOutput("batch_norm backward", "dx", dx, x);
            CheckOutput("batch_norm backward", "dx", dx, dy);
        }

        // The forward pass's scale, for dx and (with relu) to recompute which normalised values were positive.
        var scale = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] * invStd[c];
        }

        var sumDy = new double[channels];
        var sumDyXc = new double[channels];
        fixed (float* px = x, pdy = dy, pm = mean, pk = scale, pb = beta)
        fixed (double* s1 = sumDy, s2 = sumDyXc)
        {
            KernelWorkers.RunRanges(new GradientSumsWork(px, pdy, n, channels, hw, pm, relu ? pk : null, pb, s1, s2), channels, Parts(x.Length));
        }

        var slope = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double istd = invStd[c];
            dBeta[c] = (float)sumDy[c];
            dGamma[c] = (float)(sumDyXc[c] * istd);
            if (training)
            {
                // dx = k·dy − k·Σdy/m − k·invStd²·Σdy·(x − mean)/m·(x − mean), with k = γ·invStd.
                slope[c] = (float)(-scale[c] * istd * istd * sumDyXc[c] / count);
                shift[c] = (float)(-scale[c] * sumDy[c] / count);
            }
        }

        if (dx.IsEmpty)
        {
            return;
        }

        fixed (float* px = x, pdy = dy, pdx = dx, pm = mean, pk = scale, ps = slope, pb = shift, pbeta = beta)
        {
            var pass = (training, relu) switch
            {
                (true, false) => Pass.InputGradTraining,
                (true, true) => Pass.InputGradTrainingRelu,
                (false, false) => Pass.InputGradEval,
                (false, true) => Pass.InputGradEvalRelu,
            };
            var work = new PlaneWork(px, pdy, pdx, channels, hw, pm, pk, ps, pb, relu ? pbeta : null, pass);
            KernelWorkers.RunRanges(work, n * channels, Parts(x.Length));
        }
    }

    // Channels and planes are independent pieces of equal cost: many small parts, claimed as threads free up.
    private static int Parts(int length) => length < ParallelThreshold ? 1 : KernelWorkers.FineParts;

    private static long CheckShape(string op, int length, int n, int channels, int hw)
    {
        if (n < 0 || channels < 0 || hw < 0 || (long)n * channels * hw != length)
        {
            throw new ArgumentException($"{op}: [{n}, {channels}, {hw}] needs x of {(long)n * channels * hw} elements, got {length}");
        }

        return (long)n * hw;
    }

    private static void CheckChannels(string op, int channels, params ReadOnlySpan<(string Name, int Length)> spans)
    {
        foreach (var (name, length) in spans)
        {
            if (length != channels)
            {
                throw new ArgumentException($"{op}: {name} has {length} elements, expected one per channel ({channels})");
            }
        }
    }

    private static void CheckOutput(string op, string name, ReadOnlySpan<float> output, ReadOnlySpan<float> input)
    {
        if (output.Length != input.Length)
        {
            throw new ArgumentException($"{op}: {name} has {output.Length} elements, expected {input.Length}");
        }

        if (output.Overlaps(input))
        {
            throw new ArgumentException($"{op}: {name} overlaps an input");
        }
    }

    /// <summary>Mean and biased variance of channels [start, end), in double.</summary>
    private readonly struct StatisticsWork(float* x, int n, int channels, int hw, double* mean, double* variance) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int c = start; c < end; c++)
            {
                // Sums of x − pivot rather than x: with a pivot taken from the channel, Σd² − (Σd)²/m does not
                // cancel away the variance when the mean is large against the spread.
                float pivot = hw == 0 || n == 0 ? 0f : x[(nint)c * hw];
                var (s1, s2) = ChannelSums(x, null, n, channels, hw, c, pivot, null);
                double m = (double)n * hw;
                double d = s1 / m;
                mean[c] = pivot + d;
                variance[c] = Math.Max(0, (s2 / m) - (d * d));
            }
        }
    }

    /// <summary>
    /// Σ dy and Σ dy·(x − mean) of channels [start, end), in double; with <c>scale</c> given (batch norm followed by
    /// ReLU), dy is masked where (x − mean)·scale + beta was not positive.
    /// </summary>
    private readonly struct GradientSumsWork(float* x, float* dy, int n, int channels, int hw, float* mean, float* scale, float* beta, double* sumDy, double* sumDyXc) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int c = start; c < end; c++)
            {
                ReluMask? relu = scale is null ? null : new ReluMask(scale[c], beta[c]);
                (sumDy[c], sumDyXc[c]) = ChannelSums(x, dy, n, channels, hw, c, mean[c], relu);
            }
        }
    }

    /// <summary>The forward pass's scale and shift of one channel, for recomputing where its ReLU passed gradient.</summary>
    private readonly record struct ReluMask(float Scale, float Beta);

    /// <summary>
    /// Without dy: (Σ (x − center), Σ (x − center)²) over channel c. With dy: (Σ dy, Σ dy·(x − center)), dy masked
    /// by <paramref name="relu"/> when it is given.
    /// </summary>
    private static (double First, double Second) ChannelSums(float* x, float* dy, int n, int channels, int hw, int c, float center, ReluMask? relu)
    {
        var mask = relu ?? default;
        return (Elementwise.Width(hw), dy is null ? 0 : relu is null ? 1 : 2) switch
        {
            (16, 0) => ChannelSums<Vector512<float>, Ops512, VarianceSums>(x, dy, n, channels, hw, c, center, mask),
            (16, 1) => ChannelSums<Vector512<float>, Ops512, GradientSums>(x, dy, n, channels, hw, c, center, mask),
            (16, _) => ChannelSums<Vector512<float>, Ops512, MaskedGradientSums>(x, dy, n, channels, hw, c, center, mask),
            (8, 0) => ChannelSums<Vector256<float>, Ops256, VarianceSums>(x, dy, n, channels, hw, c, center, mask),
            (8, 1) => ChannelSums<Vector256<float>, Ops256, GradientSums>(x, dy, n, channels, hw, c, center, mask),
            (8, _) => ChannelSums<Vector256<float>, Ops256, MaskedGradientSums>(x, dy, n, channels, hw, c, center, mask),
            (4, 0) => ChannelSums<Vector128<float>, Ops128, VarianceSums>(x, dy, n, channels, hw, c, center, mask),
            (4, 1) => ChannelSums<Vector128<float>, Ops128, GradientSums>(x, dy, n, channels, hw, c, center, mask),
            (4, _) => ChannelSums<Vector128<float>, Ops128, MaskedGradientSums>(x, dy, n, channels, hw, c, center, mask),
            (_, 0) => ChannelSums<float, OpsScalar, VarianceSums>(x, dy, n, channels, hw, c, center, mask),
            (_, 1) => ChannelSums<float, OpsScalar, GradientSums>(x, dy, n, channels, hw, c, center, mask),
            (_, _) => ChannelSums<float, OpsScalar, MaskedGradientSums>(x, dy, n, channels, hw, c, center, mask),
        };
    }

    // The lanes keep summing across planes until a chunk's worth of values is in them (small planes would otherwise
    // pay two horizontal sums each), then go into the double totals; where that happens depends on the shape alone.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double First, double Second) ChannelSums<TV, TOps, TMode>(float* x, float* dy, int n, int channels, int hw, int c, float center, ReluMask relu)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
        where TMode : struct, ISumMode
    {
        var minusCenter = TOps.Create(-center);
        var reluScale = TOps.Create(relu.Scale);
        var reluBeta = TOps.Create(relu.Beta);
        var zero = TOps.Create(0f);
        double first = 0, second = 0;

        // Two accumulators per sum, so consecutive adds do not wait on each other.
        var a1 = zero;
        var a2 = zero;
        var b1 = zero;
        var b2 = zero;
        float t1 = 0f, t2 = 0f;
        int pending = 0;
        for (int img = 0; img < n; img++)
        {
            nint plane = (((nint)img * channels) + c) * hw;
            float* px = x + plane;
            float* pg = TMode.WithGradient ? dy + plane : null;
            for (int from = 0; from < hw; from += ChunkFloats)
            {
                int to = Math.Min(hw, from + ChunkFloats);
                int i = from;
                for (; i <= to - (2 * TOps.Count); i += 2 * TOps.Count)
                {
                    var d0 = TOps.Add(TOps.Load(px + i), minusCenter);
                    var d1 = TOps.Add(TOps.Load(px + i + TOps.Count), minusCenter);
                    var w0 = TMode.WithGradient ? TOps.Load(pg + i) : d0;
                    var w1 = TMode.WithGradient ? TOps.Load(pg + i + TOps.Count) : d1;
                    if (TMode.Masked)
                    {
                        w0 = TOps.WherePositive(w0, TOps.Fma(d0, reluScale, reluBeta));
                        w1 = TOps.WherePositive(w1, TOps.Fma(d1, reluScale, reluBeta));
                    }

                    a1 = TOps.Add(a1, w0);
                    a2 = TOps.Add(a2, w1);
                    b1 = TOps.Fma(w0, d0, b1);
                    b2 = TOps.Fma(w1, d1, b2);
                }

                for (; i <= to - TOps.Count; i += TOps.Count)
                {
                    var d0 = TOps.Add(TOps.Load(px + i), minusCenter);
                    var w0 = TMode.WithGradient ? TOps.Load(pg + i) : d0;
                    if (TMode.Masked)
                    {
                        w0 = TOps.WherePositive(w0, TOps.Fma(d0, reluScale, reluBeta));
                    }

                    a1 = TOps.Add(a1, w0);
                    b1 = TOps.Fma(w0, d0, b1);
                }

                for (; i < to; i++)
                {
                    float d = px[i] - center;
                    float w = TMode.WithGradient ? pg[i] : d;
                    if (TMode.Masked && !(MathF.FusedMultiplyAdd(d, relu.Scale, relu.Beta) > 0f))
                    {
                        w = 0f;
                    }

                    t1 += w;
                    t2 = MathF.FusedMultiplyAdd(w, d, t2);
                }

                pending += to - from;
                if (pending >= ChunkFloats)
                {
                    Flush(ref a1, ref a2, ref b1, ref b2, ref t1, ref t2, ref first, ref second);
                    pending = 0;
                }
            }
        }

        Flush(ref a1, ref a2, ref b1, ref b2, ref t1, ref t2, ref first, ref second);
        return (first, second);

        static void Flush(ref TV a1, ref TV a2, ref TV b1, ref TV b2, ref float t1, ref float t2, ref double first, ref double second)
        {
            first += (double)TOps.Sum(TOps.Add(a1, a2)) + t1;
            second += (double)TOps.Sum(TOps.Add(b1, b2)) + t2;
            a1 = a2 = b1 = b2 = TOps.Create(0f);
            t1 = t2 = 0f;
        }
    }

    /// <summary>Which sums <see cref="ChannelSums{TV, TOps, TMode}"/> takes, fixed per instantiation so the JIT drops the other.</summary>
    private interface ISumMode
    {
        static abstract bool WithGradient { get; }

        static abstract bool Masked { get; }
    }

    private readonly struct VarianceSums : ISumMode
    {
        public static bool WithGradient => false;

        public static bool Masked => false;
    }

    private readonly struct GradientSums : ISumMode
    {
        public static bool WithGradient => true;

        public static bool Masked => false;
    }

    private readonly struct MaskedGradientSums : ISumMode
    {
        public static bool WithGradient => true;

        public static bool Masked => true;
    }

    private enum Pass
    {
        /// <summary>y = (x − mean)·scale + shift.</summary>
        Normalize,

        /// <summary>y = max((x − mean)·scale + shift, 0).</summary>
        NormalizeRelu,

        /// <summary>y = ((x − mean)·scale + shift) + a, a read where the gradient is in the backward passes.</summary>
        NormalizeAdd,

        /// <summary>y = max(((x − mean)·scale + shift) + a, 0).</summary>
        NormalizeAddRelu,

        /// <summary>dx = scale·dy + slope·(x − mean) + shift.</summary>
        InputGradTraining,

        /// <summary>dx = scale·dy.</summary>
        InputGradEval,

        /// <summary><see cref="InputGradTraining"/> with dy taken as +0 where (x − mean)·scale + beta ≤ 0.</summary>
        InputGradTrainingRelu,

        /// <summary><see cref="InputGradEval"/> with dy taken as +0 where (x − mean)·scale + beta ≤ 0.</summary>
        InputGradEvalRelu,
    }

    /// <summary>One elementwise pass over planes [start, end) of [n, channels]; coefficients are per channel.</summary>
    private readonly struct PlaneWork(float* x, float* dy, float* output, int channels, int hw, float* mean, float* scale, float* slope, float* shift, float* beta, Pass pass) : IRangeWork
    {
        public void Run(int start, int end)
        {
            switch (Elementwise.Width(hw))
            {
                case 16: Planes<Vector512<float>, Ops512>(start, end); break;
                case 8: Planes<Vector256<float>, Ops256>(start, end); break;
                case 4: Planes<Vector128<float>, Ops128>(start, end); break;
                default: Planes<float, OpsScalar>(start, end); break;
            }
        }

        private void Planes<TV, TOps>(int start, int end)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            for (int p = start; p < end; p++)
            {
                int c = p % channels;
                nint at = (nint)p * hw;
                var k = new Coefficients(mean[c], scale[c], slope is null ? 0f : slope[c], shift is null ? 0f : shift[c], beta is null ? 0f : beta[c]);
                Plane<TV, TOps>(x + at, dy is null ? null : dy + at, output + at, hw, k, pass);
            }
        }
    }

    private readonly record struct Coefficients(float Mean, float Scale, float Slope, float Shift, float Beta);

    // The tail runs in scalar code with the same operations (one subtraction, fused multiply-adds), so an element's
    // result never depends on whether it fell in a vector or in the tail.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Plane<TV, TOps>(float* x, float* dy, float* output, int hw, Coefficients k, Pass pass)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        var minusMean = TOps.Create(-k.Mean);
        var scale = TOps.Create(k.Scale);
        var slope = TOps.Create(k.Slope);
        var shift = TOps.Create(k.Shift);
        var beta = TOps.Create(k.Beta);
        int i = 0;
        switch (pass)
        {
            case Pass.Normalize:
                for (; i <= hw - TOps.Count; i += TOps.Count)
                {
                    TOps.Store(TOps.Fma(TOps.Add(TOps.Load(x + i), minusMean), scale, shift), output + i);
                }

                for (; i < hw; i++)
                {
                    output[i] = MathF.FusedMultiplyAdd(x[i] - k.Mean, k.Scale, k.Shift);
                }

                break;
            case Pass.NormalizeRelu:
                for (; i <= hw - TOps.Count; i += TOps.Count)
                {
                    TOps.Store(TOps.Relu(TOps.Fma(TOps.Add(TOps.Load(x + i), minusMean), scale, shift)), output + i);
                }

                for (; i < hw; i++)
                {
                    output[i] = Math.Max(MathF.FusedMultiplyAdd(x[i] - k.Mean, k.Scale, k.Shift), 0f);
                }

                break;
            case Pass.NormalizeAdd:
            case Pass.NormalizeAddRelu:
                bool cut = pass == Pass.NormalizeAddRelu;
                for (; i <= hw - TOps.Count; i += TOps.Count)
                {
                    var sum = TOps.Add(TOps.Fma(TOps.Add(TOps.Load(x + i), minusMean), scale, shift), TOps.Load(dy + i));
                    TOps.Store(cut ? TOps.Relu(sum) : sum, output + i);
                }

                for (; i < hw; i++)
                {
                    float sum = MathF.FusedMultiplyAdd(x[i] - k.Mean, k.Scale, k.Shift) + dy[i];
                    output[i] = cut ? Math.Max(sum, 0f) : sum;
                }

                break;
            case Pass.InputGradTraining:
            case Pass.InputGradTrainingRelu:
                bool masked = pass == Pass.InputGradTrainingRelu;
                for (; i <= hw - TOps.Count; i += TOps.Count)
                {
                    var centered = TOps.Add(TOps.Load(x + i), minusMean);
                    var g = TOps.Load(dy + i);
                    if (masked)
                    {
                        g = TOps.WherePositive(g, TOps.Fma(centered, scale, beta));
                    }

                    TOps.Store(TOps.Fma(scale, g, TOps.Fma(slope, centered, shift)), output + i);
                }

                for (; i < hw; i++)
                {
                    float centered = x[i] - k.Mean;
                    float g = !masked || MathF.FusedMultiplyAdd(centered, k.Scale, k.Beta) > 0f ? dy[i] : 0f;
                    output[i] = MathF.FusedMultiplyAdd(k.Scale, g, MathF.FusedMultiplyAdd(k.Slope, centered, k.Shift));
                }

                break;
            default:
                bool evalMasked = pass == Pass.InputGradEvalRelu;
                for (; i <= hw - TOps.Count; i += TOps.Count)
                {
                    var g = TOps.Load(dy + i);
                    if (evalMasked)
                    {
                        g = TOps.WherePositive(g, TOps.Fma(TOps.Add(TOps.Load(x + i), minusMean), scale, beta));
                    }

                    TOps.Store(TOps.Mul(scale, g), output + i);
                }

                for (; i < hw; i++)
                {
                    float g = !evalMasked || MathF.FusedMultiplyAdd(x[i] - k.Mean, k.Scale, k.Beta) > 0f ? dy[i] : 0f;
                    output[i] = k.Scale * g;
                }

                break;
        }
    }
}
