using System.Numerics.Tensors;
using SparseNet.Engine.Nn;

namespace SparseNet.Engine.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, following
/// PyTorch's formulation: g ← g + λθ; v ← μv + g; step along g + μv (Nesterov) or v.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly float[]?[] _velocity;
    private float[] _scratch = [];

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
        _velocity = new float[]?[Parameters.Count];
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

            Span<float> theta = p.Value.Span;
            if (_scratch.Length < theta.Length)
            {
                _scratch = new float[theta.Length];
            }

            // The step direction is built in a scratch buffer so the stored gradient stays as backward left it.
            Span<float> g = _scratch.AsSpan(0, theta.Length);
            MaskedGradient(p).CopyTo(g);
            if (WeightDecay != 0f)
            {
                TensorPrimitives.MultiplyAdd(theta, WeightDecay, g, g);
            }

            if (Momentum != 0f)
            {
                var v = _velocity[i];
                if (v is null)
                {
                    v = g.ToArray();
                    _velocity[i] = v;
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(v, Momentum, g, v);
                }

                if (Nesterov)
                {
                    TensorPrimitives.MultiplyAdd(v, Momentum, g, g);
                }
                else
                {
                    g = v;
                }
            }

            TensorPrimitives.MultiplyAdd(g, -LearningRate, theta, theta);
        }

        StepCount++;
    }
}
