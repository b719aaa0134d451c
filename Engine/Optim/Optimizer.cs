using SparseNet.Engine.Nn;

namespace SparseNet.Engine.Optim;

/// <summary>Updates parameters from their gradients. Updates are in place and never recorded.</summary>
public abstract class Optimizer
{
    /// <summary>Creates an optimizer over a fixed list of parameters.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(learningRate >= 0f) || float.IsInfinity(learningRate))
        {
            throw new ArgumentException($"optimizer: learning rate {learningRate} must be a finite number ≥ 0");
        }

        Parameters = parameters.ToList();
        LearningRate = learningRate;
    }

    /// <summary>The parameters updated by <see cref="Step"/>.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Learning rate used by the next <see cref="Step"/>; schedules set it every iteration.</summary>
    public float LearningRate { get; set; }

    /// <summary>Number of steps taken.</summary>
    public int StepCount { get; protected set; }

    /// <summary>
    /// The gradient an update should use: the parameter's gradient with pruned positions zeroed in place
    /// (so the stored gradient of a pruned weight is exactly zero too).
    /// </summary>
    /// <exception cref="ArgumentException">The gradient or the mask is on another device than the parameter.</exception>
    protected static Tensors.Tensor MaskedGradient(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var grad = parameter.Grad ?? throw new InvalidOperationException("optimizer: parameter has no gradient");
        Tensors.Tensor.RequireSameDevice("optimizer", parameter.Value, grad);
        grad.MulInPlaceIfMasked(parameter.Mask);
        return grad;
    }

    /// <summary>
    /// Pruned parameters at most this dense are updated at their kept positions only (a step that costs the kept
    /// weights rather than the whole tensor); denser ones take the dense step, which streams faster per element.
    /// </summary>
    internal const double SparseStepDensity = 0.25;

    /// <summary>
    /// The compressed mask of <paramref name="parameter"/> when its update should touch only the kept positions, or
    /// null for a dense update. Both give each kept weight the same bits, and leave a pruned weight whose gradient and
    /// moments are zero exactly as it was; the sparse step leaves the stored gradient's pruned positions as they are.
    /// </summary>
    private protected static Devices.SparseMatrix? KeptPositions(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var grad = parameter.Grad ?? throw new InvalidOperationException("optimizer: parameter has no gradient");
        Tensors.Tensor.RequireSameDevice("optimizer", parameter.Value, grad);
        var kept = parameter.SparseSteps ? parameter.Compressed(loadValues: false) : null;
        return kept is not null && kept.Density <= SparseStepDensity ? kept : null;
    }

    /// <summary>Applies one update from the current gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>
    /// Clears every parameter's gradient (it reads null afterwards) before the next backward pass. The
    /// buffers are kept, so backward can write parameter gradients into them instead of allocating and
    /// zeroing new ones; <paramref name="releaseBuffers"/> drops them too.
    /// </summary>
    public void ZeroGrad(bool releaseBuffers = false)
    {
        foreach (var p in Parameters)
        {
            p.ClearGrad(releaseBuffers);
        }
    }
}
