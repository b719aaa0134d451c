using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>? _layerBnStats;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>? _layerBnEvalStats;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>? _layerBnApply;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>? _layerBnGradSums;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>? _layerBnInputGrad;

    /// <summary>
    /// Batch normalisation of x [n, c, hw] per channel, with the contract of the CPU kernel (<c>BatchNorm.Forward</c>):
    /// y = fma(x − mean, γ·invStd, β), plus <paramref name="addend"/> when it is not empty, then max(·, 0) with
    /// <paramref name="relu"/>. In training mean and the biased variance are the batch's and the running statistics,
    /// when given, move towards them (r ← (1 − momentum)·r + momentum·batch, unbiased variance for the running
    /// variance); in evaluation the running statistics are used and left as they are. <paramref name="saveMean"/> and
    /// <paramref name="saveInvStd"/> receive the mean and 1/√(var + eps) used.
    /// </summary>
    /// <remarks>
    /// Each channel's sums are taken by one group: every thread adds a fixed, strided share of the channel's values
    /// (minus a pivot, the channel's first value, as on the CPU) in double, and the group adds the partial sums in a
    /// fixed tree, so the statistics are the same bits every launch. The elementwise pass uses the CPU's operations,
    /// so in evaluation y has the CPU kernel's bits. y may be x itself, and addend may be y: each element is read
    /// before it is written, by the same thread.
    /// </remarks>
    /// <param name="x">The input, n·c·hw elements.</param>
    /// <param name="weight">γ, one per channel.</param>
    /// <param name="bias">β, one per channel.</param>
    /// <param name="runningMean">Running mean per channel, or empty (training only) to keep none.</param>
    /// <param name="runningVar">Running unbiased variance per channel, empty exactly when <paramref name="runningMean"/> is.</param>
    /// <param name="n">Images.</param>
    /// <param name="c">Channels.</param>
    /// <param name="hw">Elements per plane.</param>
    /// <param name="training">Batch statistics (true) or running statistics (false).</param>
    /// <param name="momentum">Weight of the batch in the running statistics.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="y">The output, as long as x.</param>
    /// <param name="saveMean">Receives the mean used, per channel.</param>
    /// <param name="saveInvStd">Receives 1/√(variance + eps) used, per channel.</param>
    /// <param name="addend">Added after the affine map (as long as x), or empty for none.</param>
    /// <param name="relu">Whether y is clamped at 0.</param>
    /// <exception cref="ArgumentException">A shape or length mismatch, running statistics missing in evaluation or given
    /// only half, or training with fewer than two values per channel.</exception>
    public void BatchNorm2d(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> runningMean, ArrayView<float> runningVar,
        int n, int c, int hw, bool training, float momentum, float eps, ArrayView<float> y, ArrayView<float> saveMean, ArrayView<float> saveInvStd,
        ArrayView<float> addend, bool relu)
    {
        const string Op = "gpu batch_norm";
        long count = LayerCheckBatchNormShape(Op, x.Length, n, c, hw);
        LayerCheckChannels(Op, c, ("weight", weight.Length), ("bias", bias.Length), ("saveMean", saveMean.Length), ("saveInvStd", saveInvStd.Length));
        LayerCheckLength(Op, "y", y.Length, x.Length);
        if (addend.Length != 0)
        {
            LayerCheckLength(Op, "addend", addend.Length, x.Length);
        }

        bool hasRunning = runningMean.Length != 0;
        if (hasRunning != (runningVar.Length != 0) || (!training && !hasRunning))
        {
            throw new ArgumentException($"{Op}: running mean has {runningMean.Length} and running variance {runningVar.Length} elements; give both (required in evaluation) or neither");
        }

        if (hasRunning)
        {
            LayerCheckChannels(Op, c, ("running mean", runningMean.Length), ("running variance", runningVar.Length));
        }

        if (training && c > 0 && count < 2)
        {
            throw new ArgumentException($"{Op}: training needs more than one value per channel, got n = {n}, hw = {hw}");
        }

        if (c == 0)
        {
            return;
        }

        var args = new LayerBnArgs(n, c, hw, count, momentum, eps, hasRunning, relu, addend.Length != 0);

        // Views the kernels never read when a flag is off stand in for the empty ones.
        var rm = hasRunning ? runningMean : saveMean;
        var rv = hasRunning ? runningVar : saveInvStd;
        if (training)
        {
            Cached(ref _layerBnStats, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>(LayerBatchNormStatsKernel))(
                new KernelConfig(c, ReduceGroup), x, rm, rv, saveMean, saveInvStd, args);
        }
        else
        {
            Cached(ref _layerBnEvalStats, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>(LayerBatchNormEvalStatsKernel))(
                c, rm, rv, saveMean, saveInvStd, args);
        }

        if (x.Length == 0)
        {
            return;
        }

        Cached(ref _layerBnApply, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>(LayerBatchNormApplyKernel))(
            (int)x.Length, x, weight, bias, saveMean, saveInvStd, addend.Length != 0 ? addend : x, y, args);
    }

    /// <summary>
    /// Gradients of <see cref="BatchNorm2d"/> given dy and the saved mean and 1/√(var + eps), with the contract of the
    /// CPU kernel (<c>BatchNorm.Backward</c>): dβ = Σ dy, dγ = Σ dy·x̂ with x̂ = (x − mean)·invStd, and, when
    /// <paramref name="dx"/> is not empty, in training dx = γ·invStd·(dy − dβ/m − x̂·dγ/m) with m = n·hw, in
    /// evaluation dx = γ·invStd·dy. With <paramref name="relu"/> dy counts as 0 wherever fma(x − mean, γ·invStd, β),
    /// the forward pass's value before its ReLU, was not positive.
    /// </summary>
    /// <remarks>
    /// One group per channel takes Σ dy and Σ dy·(x − mean) in double over a fixed strided share per thread and a
    /// fixed tree, so the sums are the same bits every launch; dx is then one elementwise pass that takes dγ and dβ as
    /// written. dx may be dy itself (each element is read before it is written, by the same thread).
    /// </remarks>
    /// <param name="x">The forward input, n·c·hw elements.</param>
    /// <param name="dy">The output gradient, as long as x.</param>
    /// <param name="weight">γ, one per channel.</param>
    /// <param name="bias">β, one per channel with <paramref name="relu"/>; otherwise ignored (may be empty).</param>
    /// <param name="saveMean">The mean the forward pass used, per channel.</param>
    /// <param name="saveInvStd">The 1/√(variance + eps) the forward pass used, per channel.</param>
    /// <param name="n">Images.</param>
    /// <param name="c">Channels.</param>
    /// <param name="hw">Elements per plane.</param>
    /// <param name="training">Whether the forward pass used batch statistics.</param>
    /// <param name="relu">Whether the forward pass applied ReLU (dy is then its output's gradient).</param>
    /// <param name="dx">Receives the input gradient (as long as x), or empty to skip it.</param>
    /// <param name="dWeight">Receives dγ, one per channel.</param>
    /// <param name="dBias">Receives dβ, one per channel.</param>
    /// <exception cref="ArgumentException">A shape or length mismatch.</exception>
    public void BatchNorm2dBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> saveMean, ArrayView<float> saveInvStd, int n, int c, int hw, bool training, bool relu,
        ArrayView<float> dx, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        const string Op = "gpu batch_norm backward";
        long count = LayerCheckBatchNormShape(Op, x.Length, n, c, hw);
        LayerCheckLength(Op, "dy", dy.Length, x.Length);
        LayerCheckChannels(Op, c, ("weight", weight.Length), ("saveMean", saveMean.Length), ("saveInvStd", saveInvStd.Length), ("dWeight", dWeight.Length), ("dBias", dBias.Length));
        if (relu)
        {
            LayerCheckChannels(Op, c, ("bias", bias.Length));
        }

        if (dx.Length != 0)
        {
            LayerCheckLength(Op, "dx", dx.Length, x.Length);
        }

        if (c == 0)
        {
            return;
        }

        var args = new LayerBnArgs(n, c, hw, count, 0f, 0f, hasRunning: false, relu, hasAddend: false, training);
        var beta = relu ? bias : weight;
        Cached(ref _layerBnGradSums, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>(LayerBatchNormGradSumsKernel))(
            new KernelConfig(c, ReduceGroup), x.Length != 0 ? x : weight, x.Length != 0 ? dy : weight, weight, beta, saveMean, saveInvStd, dWeight, dBias, args);
        if (dx.Length == 0)
        {
            return;
        }

        Cached(ref _layerBnInputGrad, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerBnArgs>(LayerBatchNormInputGradKernel))(
            (int)x.Length, x, dy, weight, beta, saveMean, saveInvStd, dWeight, dBias, dx, args);
    }

    private static long LayerCheckBatchNormShape(string op, long length, int n, int c, int hw)
    {
        if (n < 0 || c < 0 || hw < 0 || (long)n * c * hw != length)
        {
            throw new ArgumentException($"{op}: [{n}, {c}, {hw}] needs x of {(long)n * c * hw} elements, got {length}");
        }

        LayerCheckIndexable(op, length);
        return (long)n * hw;
    }

    private static void LayerCheckChannels(string op, int c, params ReadOnlySpan<(string Name, long Length)> views)
    {
        foreach (var (name, length) in views)
        {
            if (length != c)
            {
                throw new ArgumentException($"{op}: {name} has {length} elements, expected one per channel ({c})");
            }
        }
    }

    private static void LayerCheckLength(string op, string name, long length, long expected)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{op}: {name} has {length} elements, expected {expected}");
        }
    }

    /// <summary>Sizes and flags of one batch-norm launch (flags as ints, so the struct is plain data).</summary>
    internal readonly struct LayerBnArgs(int n, int c, int hw, long count, float momentum, float eps, bool hasRunning, bool relu, bool hasAddend, bool training = true)
    {
        // The double first, so no padding is needed before it.
        public readonly double Count = count;
        public readonly int N = n;
        public readonly int C = c;
        public readonly int Hw = hw;
        public readonly int HasRunning = hasRunning ? 1 : 0;
        public readonly int Relu = relu ? 1 : 0;
        public readonly int HasAddend = hasAddend ? 1 : 0;
        public readonly int Training = training ? 1 : 0;
        public readonly float Momentum = momentum;
        public readonly float Eps = eps;
    }

    // One group per channel; each thread sums its share of the channel (see LayerChannelWalk).
    [GpuKernel(explicitlyGrouped: true)]
    internal static void LayerBatchNormStatsKernel(ArrayView<float> x, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvStd, LayerBnArgs a)
    {
        var first = SharedMemory.Allocate<double>(ReduceGroup);
        var second = SharedMemory.Allocate<double>(ReduceGroup);
        int ch = Grid.IdxX, t = Group.IdxX;

        // Sums of x − pivot rather than x, as on the CPU: the variance Σd²/m − (Σd/m)² then does not cancel away when
        // the mean is large against the spread.
        float pivot = a.N > 0 && a.Hw > 0 ? x[ch * a.Hw] : 0f;
        double s1 = 0, s2 = 0;
        for (var at = new LayerChannelWalk(a, ch, t); at.Going; at.Next())
        {
            float d = x[at.Offset] - pivot;
            s1 += d;
            s2 += (double)d * d;
        }

        LayerTreeSum(first, second, t, s1, s2);
        if (t == 0)
        {
            double m = a.Count;
            double shift = first[0] / m;
            double mean = pivot + shift;
            double variance = (second[0] / m) - (shift * shift);
            variance = variance < 0 ? 0 : variance;
            saveMean[ch] = (float)mean;
            saveInvStd[ch] = (float)(1 / Math.Sqrt(variance + a.Eps));
            if (a.HasRunning != 0)
            {
                double keep = 1 - (double)a.Momentum;
                runningMean[ch] = (float)((keep * runningMean[ch]) + (a.Momentum * mean));
                runningVar[ch] = (float)((keep * runningVar[ch]) + (a.Momentum * variance * (m / (m - 1))));
            }
        }
    }

    [GpuKernel]
    internal static void LayerBatchNormEvalStatsKernel(Index1D ch, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvStd, LayerBnArgs a)
    {
        saveMean[ch] = runningMean[ch];
        saveInvStd[ch] = (float)(1 / Math.Sqrt(runningVar[ch] + (double)a.Eps));
    }

    [GpuKernel]
    internal static void LayerBatchNormApplyKernel(Index1D i, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> addend, ArrayView<float> y, LayerBnArgs a)
    {
        int ch = (i / a.Hw) % a.C;
        float v = LayerFma(x[i] - mean[ch], weight[ch] * invStd[ch], bias[ch]);
        if (a.HasAddend != 0)
        {
            v += addend[i];
        }

        // max(v, 0) as .NET computes it: NaN stays NaN and −0 becomes +0.
        y[i] = a.Relu == 0 || v > 0f || float.IsNaN(v) ? v : 0f;
    }

    [GpuKernel(explicitlyGrouped: true)]
    internal static void LayerBatchNormGradSumsKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> dWeight, ArrayView<float> dBias, LayerBnArgs a)
    {
        var first = SharedMemory.Allocate<double>(ReduceGroup);
        var second = SharedMemory.Allocate<double>(ReduceGroup);
        int ch = Grid.IdxX, t = Group.IdxX;
        float mu = mean[ch], scale = weight[ch] * invStd[ch], beta = bias[ch];
        double s1 = 0, s2 = 0;
        for (var at = new LayerChannelWalk(a, ch, t); at.Going; at.Next())
        {
            int i = at.Offset;
            float d = x[i] - mu;
            float g = a.Relu != 0 && !(LayerFma(d, scale, beta) > 0f) ? 0f : dy[i];
            s1 += g;
            s2 += (double)g * d;
        }

        LayerTreeSum(first, second, t, s1, s2);
        if (t == 0)
        {
            dBias[ch] = (float)first[0];
            dWeight[ch] = (float)(second[0] * invStd[ch]);
        }
    }

    // dx = k·dy + slope·(x − mean) + shift with k = γ·invStd, slope = −k·invStd·dγ/m and shift = −k·dβ/m, the CPU
    // kernel's fused form (which takes dγ before its rounding to float; the difference is below float rounding of dx).
    [GpuKernel]
    internal static void LayerBatchNormInputGradKernel(Index1D i, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> dx, LayerBnArgs a)
    {
        int ch = (i / a.Hw) % a.C;
        float istd = invStd[ch];
        float scale = weight[ch] * istd;
        float centered = x[i] - mean[ch];
        float g = a.Relu != 0 && !(LayerFma(centered, scale, bias[ch]) > 0f) ? 0f : dy[i];
        if (a.Training != 0)
        {
            float slope = (float)(-(double)scale * istd * dWeight[ch] / a.Count);
            float shift = (float)(-(double)scale * dBias[ch] / a.Count);
            dx[i] = LayerFma(scale, g, LayerFma(slope, centered, shift));
        }
        else
        {
            dx[i] = LayerMul(scale, g);
        }
    }

    /// <summary>
    /// Thread t's share of one channel of x [n, c, hw]: the channel's values t, t + ReduceGroup, ... of its n·hw,
    /// image by image, stepping image and position without a division per value. Used as
    /// <c>for (var at = new LayerChannelWalk(a, ch, t); at.Going; at.Next())</c>, reading x[at.Offset].
    /// </summary>
    internal struct LayerChannelWalk
    {
        private readonly int _n, _c, _hw, _ch, _stepImg, _stepP;
        private int _img, _p;

        public LayerChannelWalk(LayerBnArgs a, int ch, int t)
        {
            // hw = 0 leaves nothing to visit: the walk starts past the last image.
            int hw = Math.Max(a.Hw, 1);
            _n = a.N;
            _c = a.C;
            _hw = a.Hw;
            _ch = ch;
            _img = a.Hw > 0 ? t / hw : a.N;
            _p = t - (_img * hw);
            _stepImg = ReduceGroup / hw;
            _stepP = ReduceGroup - (_stepImg * hw);
        }

        /// <summary>Whether the walk is at a value (false once past the last image).</summary>
        public readonly bool Going => _img < _n;

        /// <summary>The current value's index into x.</summary>
        public readonly int Offset => (((_img * _c) + _ch) * _hw) + _p;

        /// <summary>Moves ReduceGroup values on, carrying the position into the next image.</summary>
        public void Next()
        {
            _p += _stepP;
            _img += _stepImg;
            if (_p >= _hw)
            {
                _p -= _hw;
                _img++;
            }
        }
    }

    // Stores thread t's partial sums and adds the group's ReduceGroup of each array in a fixed tree; the totals end in
    // element 0.
    private static void LayerTreeSum(ArrayView<double> first, ArrayView<double> second, int t, double s1, double s2)
    {
        first[t] = s1;
        second[t] = s2;
        Group.Barrier();
        for (int s = ReduceGroup / 2; s > 0; s >>= 1)
        {
            if (t < s)
            {
                first[t] += first[t + s];
                second[t] += second[t + s];
            }

            Group.Barrier();
        }
    }
}
