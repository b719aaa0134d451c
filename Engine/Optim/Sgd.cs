using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, following
/// PyTorch's formulation: g ← g + λθ; v ← μv + g; step along g + μv (Nesterov) or v.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _velocity;

    /// <summary>Creates the optimizer.</summary>
    public Sgd(IEnumerable<Parameter> parameters, float learningRate, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(parameters, learningRate)
    {
        if (!(momentum >= 0f && momentum < 1f) || !(weightDecay >= 0f))
        {
            throw new ArgumentException($"sgd: momentum {momentum} must be in [0, 1) and weight decay {weightDecay} ≥ 0");
        }

        if (nesterov && momentum == 0f)
        {
            throw new ArgumentException("sgd: Nesterov momentum needs momentum > 0");
        }

        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        _velocity = new Tensor?[Parameters.Count];
    }

    /// <summary>Momentum μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 weight decay λ.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    public override void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null)
            {
                continue;
            }

            // The velocity lives where the parameter does; its first update copies the step direction into it.
            var theta = p.Value;
            bool first = false;
            if (Momentum != 0f && _velocity[i] is null)
            {
                _velocity[i] = Tensor.Zeros(theta.Shape, theta.Device);
                first = true;
            }

            if (KeptPositions(p) is { } kept)
            {
                theta.Device.Backend.SparseSgdStep(kept, theta, p.Grad, _velocity[i], LearningRate, Momentum, Nesterov, WeightDecay, first);
                theta.MarkWritten();
                p.CompressedValuesWritten(kept);
            }
            else
            {
                theta.Device.Backend.SgdStep(theta, MaskedGradient(p), _velocity[i], LearningRate, Momentum, Nesterov, WeightDecay, first);
                theta.MarkWritten();
            }
        }

        StepCount++;
    }
}
