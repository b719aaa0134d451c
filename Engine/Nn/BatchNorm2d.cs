using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// Batch normalisation over [N, C, H, W] per channel. Training uses batch statistics (biased variance)
/// and updates running statistics (unbiased variance), as PyTorch does; evaluation uses the running ones.
/// </summary>
public sealed class BatchNorm2d : Module
{
    /// <summary>Creates a layer with γ = 1, β = 0, running mean 0 and running variance 1.</summary>
    public BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f)
    {
        if (channels <= 0)
        {
            throw new ArgumentException($"batch_norm: channels {channels} must be positive");
        }

        Channels = channels;
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", new Parameter(Tensor.Ones(channels)));
        Bias = RegisterParameter("bias", new Parameter(Tensor.Zeros(channels)));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(channels));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(channels));
    }

    /// <summary>Number of channels.</summary>
    public int Channels { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }

    /// <summary>
    /// Weight of the new batch in the running statistics. Setting it to 1/t before batch t (t = 1, 2, …) makes the
    /// running statistics the plain average of the batches seen, as when they are recomputed for given weights.
    /// </summary>
    public float Momentum
    {
        get;
        set => field = value is >= 0f and <= 1f ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "batch_norm: momentum must be in [0, 1]");
    }

    /// <summary>Scale γ.</summary>
    public Parameter Weight { get; }

    /// <summary>Shift β.</summary>
    public Parameter Bias { get; }

    /// <summary>Running mean per channel.</summary>
    public Tensor RunningMean { get; }

    /// <summary>Running (unbiased) variance per channel.</summary>
    public Tensor RunningVar { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        CheckInput(input);
        return Tensor.BatchNorm2d(input, Weight.Value, Bias.Value, RunningMean, RunningVar, IsTraining, Momentum, Eps);
    }

    /// <summary>
    /// <see cref="Forward"/> followed by ReLU, in one pass: the same values and gradients, bit for bit, with fewer
    /// passes over the activations. <see cref="Sequential"/> uses it for a batch norm followed by a <see cref="ReLU"/>.
    /// </summary>
    /// <param name="input">[N, C, H, W] with C = <see cref="Channels"/>.</param>
    /// <exception cref="ArgumentException">The input does not have <see cref="Channels"/> channels.</exception>
    public Tensor ForwardRelu(Tensor input)
    {
        CheckInput(input);
        return Tensor.BatchNorm2d(input, Weight.Value, Bias.Value, RunningMean, RunningVar, IsTraining, Momentum, Eps, relu: true);
    }

    /// <summary>
    /// ReLU of <see cref="Forward"/> plus <paramref name="addend"/> (a residual block's shortcut), in one pass: the same
    /// values and gradients, bit for bit, as <c>(Forward(input) + addend).Relu()</c>.
    /// </summary>
    /// <param name="input">[N, C, H, W] with C = <see cref="Channels"/>.</param>
    /// <param name="addend">A tensor shaped as <paramref name="input"/>.</param>
    /// <exception cref="ArgumentException">The input does not have <see cref="Channels"/> channels, or the addend another shape.</exception>
    public Tensor ForwardAddRelu(Tensor input, Tensor addend)
    {
        CheckInput(input);
        ArgumentNullException.ThrowIfNull(addend);
        return Tensor.BatchNorm2d(input, Weight.Value, Bias.Value, RunningMean, RunningVar, IsTraining, Momentum, Eps, relu: true, addend: addend);
    }

    private void CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Shape[1] != Channels)
        {
            throw new ArgumentException($"batch_norm: input {Shape.Format(input.Shape)} does not match {Channels} channels (expected [N,{Channels},H,W])");
        }
    }
}
