using System.Numerics.Tensors;
using SparseNet.Engine.Nn;

namespace SparseNet.Engine.Optim;

/// <summary>
/// Adam (Kingma and Ba 2015) with bias correction and optional L2 weight decay added to the gradient,
/// as PyTorch's <c>torch.optim.Adam</c>: θ ← θ − lr·m̂/(√v̂ + ε).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly float[]?[] _m;
    private readonly float[]?[] _v;
    private float[] _scratch = [];

    /// <summary>Creates the optimizer.</summary>
    public Adam(IEnumerable<Parameter> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : base(parameters, learningRate)
    {
        if (!(beta1 >= 0f && beta1 < 1f) || !(beta2 >= 0f && beta2 < 1f) || !(eps > 0f) || !(weightDecay >= 0f))
        {
            throw new ArgumentException($"adam: betas ({beta1}, {beta2}) must be in [0, 1), eps {eps} > 0, weight decay {weightDecay} ≥ 0");
        }

        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _m = new float[]?[Parameters.Count];
        _v = new float[]?[Parameters.Count];
    }

    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; }

    /// <summary>Denominator guard.</summary>
    public float Eps { get; }

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>First moment of parameter <paramref name="index"/>, or null before its first update.</summary>
    public float[]? FirstMoment(int index) => _m[index];

    /// <summary>Second moment of parameter <paramref name="index"/>, or null before its first update.</summary>
    public float[]? SecondMoment(int index) => _v[index];

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        float c1 = 1f - MathF.Pow(Beta1, StepCount);
        float c2 = 1f - MathF.Pow(Beta2, StepCount);
        float stepSize = LearningRate / c1;
        float rootC2 = MathF.Sqrt(c2);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null)
            {
                continue;
            }

            Span<float> theta = p.Value.Span;
            ReadOnlySpan<float> g = p.Grad.Span;
            var m = _m[i] ??= new float[theta.Length];
            var v = _v[i] ??= new float[theta.Length];
            if (_scratch.Length < theta.Length)
            {
                _scratch = new float[theta.Length];
            }

            var t = _scratch.AsSpan(0, theta.Length);
            if (WeightDecay != 0f)
            {
                TensorPrimitives.MultiplyAdd(theta, WeightDecay, g, t);
                g = t;
            }

            // m ← β₁m + (1−β₁)g ; v ← β₂v + (1−β₂)g²
            TensorPrimitives.Multiply(m, Beta1, m);
            TensorPrimitives.MultiplyAdd(g, 1f - Beta1, m, m);
            TensorPrimitives.Multiply(v, Beta2, v);
            TensorPrimitives.Multiply(g, g, t);
            TensorPrimitives.MultiplyAdd(t, 1f - Beta2, v, v);

            // θ ← θ − (lr/c₁)·m / (√v/√c₂ + ε)
            TensorPrimitives.Sqrt(v, t);
            TensorPrimitives.Multiply(t, 1f / rootC2, t);
            TensorPrimitives.Add(t, Eps, t);
            TensorPrimitives.Divide(m, t, t);
            TensorPrimitives.MultiplyAdd(t, -stepSize, theta, theta);
        }
    }
}
