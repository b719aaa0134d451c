using SparseNet.Engine.Autograd;

namespace SparseNet.Engine.Tensors;

/// <summary>Normalisation ops.</summary>
public sealed partial class Tensor
{
    private static readonly int[] ChannelReductionAxes = [0, 2, 3];

    /// <summary>
    /// Batch normalisation of x [N,C,H,W] per channel: (x − mean)/√(var + eps)·weight + bias, with weight, bias [C].
    /// In training, mean and variance are the batch's over [N,H,W] (biased variance), gradients flow through them, and
    /// the running statistics, when given, are updated in place as PyTorch does:
    /// r ← (1 − momentum)·r + momentum·batch, with the unbiased variance for <paramref name="runningVar"/>. In
    /// evaluation the running statistics (then required) are used: the op is an affine map per channel and they get
    /// no gradient.
    /// </summary>
    /// <param name="x">Input [N,C,H,W].</param>
    /// <param name="weight">Scale γ [C].</param>
    /// <param name="bias">Shift β [C].</param>
    /// <param name="runningMean">Running mean [C], or null (training only) to keep none.</param>
    /// <param name="runningVar">Running variance [C]; null exactly when <paramref name="runningMean"/> is.</param>
    /// <param name="training">Batch statistics (true) or running statistics (false).</param>
    /// <param name="momentum">Weight of the batch in the running statistics, in [0, 1].</param>
    /// <param name="eps">Added to the variance before the square root, ≥ 0.</param>
    /// <param name="relu">
    /// Apply ReLU to the result in the same pass: the same values and gradients, bit for bit, as
    /// <c>BatchNorm2d(…).Relu()</c>, with two fewer passes over the activations forward and three backward.
    /// </param>
    /// <param name="addend">
    /// A tensor shaped as x added to the result before the ReLU, in the same pass (a residual block's shortcut): the
    /// same values and gradients, bit for bit, as <c>(BatchNorm2d(…) + addend).Relu()</c>.
    /// </param>
    /// <exception cref="ArgumentException">Shapes, devices or settings that do not fit together.</exception>
    public static Tensor BatchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f, bool relu = false, Tensor? addend = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        CheckBatchNorm(x, weight, bias, runningMean, runningVar, training, momentum, eps);
        if (addend is not null && (!Tensors.Shape.Equal(addend.Shape, x.Shape) || addend.Device != x.Device))
        {
            throw new ArgumentException($"batch_norm: addend {Tensors.Shape.Format(addend.Shape)} on {addend.Device} does not match input {Tensors.Shape.Format(x.Shape)} on {x.Device}");
        }

        int channels = x.Shape[1];
        var y = x.NewEmpty((int[])x.Shape.Clone());
        var mean = x.NewEmpty([channels]);
        var invStd = x.NewEmpty([channels]);
        x.Device.Backend.BatchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, y, mean, invStd, addend, relu);
        string name = (addend is null ? "batch_norm" : "batch_norm_add") + (relu ? "_relu" : string.Empty);
        if (addend is null)
        {
            // With ReLU, y > 0 exactly where the normalised value was, so y itself masks the recorded gradient; the
            // fused backward recomputes that mask from x instead of reading a masked copy of g.
            return Record(y, name, [x, weight, bias], g => GradMode.IsEnabled
                ? BatchNormGradRecorded(x, weight, relu ? g.WherePositive(y) : g, mean, invStd, training, eps)
                : BatchNormGradFused(x, weight, bias, g, mean, invStd, training, relu));
        }

        // With an addend, ReLU's gradient is materialised (y > 0 exactly where the sum was): it is the addend's too.
        return Record(y, name, [x, weight, bias, addend], g =>
        {
            var passed = relu ? g.WherePositive(y) : g;
            var norm = GradMode.IsEnabled
                ? BatchNormGradRecorded(x, weight, passed, mean, invStd, training, eps)
                : BatchNormGradFused(x, weight, bias, passed, mean, invStd, training, relu: false);
            return [norm[0], norm[1], norm[2], addend.RequiresGrad ? passed : null];
        });
    }

    // A plain backward pass (grad mode off): all three gradients from one backend primitive, two passes over the data.
    private static Tensor?[] BatchNormGradFused(Tensor x, Tensor weight, Tensor bias, Tensor g, Tensor mean, Tensor invStd, bool training, bool relu)
    {
        int channels = x.Shape[1];
        var dx = x.RequiresGrad ? x.NewEmpty((int[])x.Shape.Clone()) : null;
        var dWeight = x.NewEmpty([channels]);
        var dBias = x.NewEmpty([channels]);
        x.Device.Backend.BatchNorm2dBackward(x, g, weight, bias, mean, invStd, training, relu, dx, dWeight, dBias);
        return [dx, weight.RequiresGrad ? dWeight : null, bias.RequiresGrad ? dBias : null];
    }

    // A backward pass that builds a graph (createGraph): the same gradients from differentiable ops, so they can be
    // differentiated again (GraSP's Hessian-gradient products). In training the statistics are recomputed from x as
    // ops, since the second derivative runs through them; in evaluation they are constants.
    private static Tensor?[] BatchNormGradRecorded(Tensor x, Tensor weight, Tensor g, Tensor mean, Tensor invStd, bool training, float eps)
    {
        int[] axes = ChannelReductionAxes;
        int[] perChannel = [1, x.Shape[1], 1, 1];
        Tensor xhat, istd;
        if (training)
        {
            var centered = x - x.Mean(axes, keepDim: true);
            istd = (centered.Square().Mean(axes, keepDim: true) + eps).Pow(-0.5f);
            xhat = centered * istd;
        }
        else
        {
            istd = invStd.Reshape(perChannel);
            xhat = (x - mean.Reshape(perChannel)) * istd;
        }

        var dBias = g.Sum(axes, keepDim: true);
        var dWeight = (g * xhat).Sum(axes, keepDim: true);
        var scale = weight.Reshape(perChannel) * istd;
        Tensor dx;
        if (training)
        {
            float perValue = 1f / Math.Max(1, x.Size / x.Shape[1]);
            dx = scale * (g - (dBias * perValue) - (xhat * (dWeight * perValue)));
        }
        else
        {
            dx = g * scale;
        }

        return [dx, dWeight.Reshape(x.Shape[1]), dBias.Reshape(x.Shape[1])];
    }

    private static void CheckBatchNorm(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps)
    {
        if (x.Rank != 4)
        {
            throw new ArgumentException($"batch_norm: input {Tensors.Shape.Format(x.Shape)} has rank {x.Rank}, need 4 ([N,C,H,W])");
        }

        int channels = x.Shape[1];
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias), ("running mean", runningMean), ("running variance", runningVar) })
        {
            if (t is not null && (t.Rank != 1 || t.Shape[0] != channels))
            {
                throw new ArgumentException($"batch_norm: {name} {Tensors.Shape.Format(t.Shape)} does not match input {Tensors.Shape.Format(x.Shape)} ({channels} channels, expected [{channels}])");
            }

            if (t is not null && t.Device != x.Device)
            {
                throw new ArgumentException($"batch_norm: input on {x.Device}, {name} on {t.Device}: all must be on one device");
            }
        }

        if ((runningMean is null) != (runningVar is null))
        {
            throw new ArgumentException("batch_norm: give both running mean and running variance, or neither");
        }

        if (!training && runningMean is null)
        {
            throw new ArgumentException("batch_norm: evaluation needs the running mean and variance");
        }

        if (training && channels > 0 && x.Size / channels < 2)
        {
            throw new ArgumentException($"batch_norm: training needs more than one value per channel, input is {Tensors.Shape.Format(x.Shape)}");
        }

        if (!(momentum >= 0f && momentum <= 1f) || !(eps >= 0f) || float.IsInfinity(eps))
        {
            throw new ArgumentException($"batch_norm: momentum {momentum} must be in [0, 1] and eps {eps} finite and ≥ 0");
        }

        if (runningMean is not null && (runningMean.RequiresGrad || runningVar!.RequiresGrad))
        {
            throw new ArgumentException("batch_norm: running statistics are updated in place and get no gradient; they must not require grad");
        }
    }
}
