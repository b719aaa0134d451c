using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Optim;

/// <summary>
/// Adam (Kingma and Ba 2015) with bias correction and optional L2 weight decay added to the gradient,
/// as PyTorch's <c>torch.optim.Adam</c>: θ ← θ − lr·m̂/(√v̂ + ε).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly Tensor?[] _m;
    private readonly Tensor?[] _v;

    // For a parameter updated at its kept positions only, the compressed form its moments are stored against
    // ([kept.Count] values in entry order); null while they are dense.
    private readonly Devices.SparseMatrix?[] _keptOf;

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
        _m = new Tensor?[Parameters.Count];
        _v = new Tensor?[Parameters.Count];
        _keptOf = new Devices.SparseMatrix?[Parameters.Count];
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
    internal float[]? FirstMoment(int index) => Dense(index, _m[index])?.ToArray();

    /// <summary>Second moment of parameter <paramref name="index"/>, or null before its first update.</summary>
    internal float[]? SecondMoment(int index) => Dense(index, _v[index])?.ToArray();

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        float stepSize = LearningRate / (1f - MathF.Pow(Beta1, StepCount));
        float invRootC2 = 1f / MathF.Sqrt(1f - MathF.Pow(Beta2, StepCount));
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null)
            {
                continue;
            }

            // Moments live where the parameter does, made on its first update: compressed to the kept positions
            // while the parameter is updated there only (a pruned position's moment is zero and stays zero), dense
            // otherwise; a change of form carries the values over.
            var theta = p.Value;
            if (KeptPositions(p) is { } kept)
            {
                if (!ReferenceEquals(_keptOf[i], kept))
                {
                    _m[i] = Compress(kept, Dense(i, _m[i]));
                    _v[i] = Compress(kept, Dense(i, _v[i]));
                    _keptOf[i] = kept;
                }

                theta.Device.Backend.SparseAdamStep(kept, theta, p.Grad, _m[i]!, _v[i]!, Beta1, Beta2, Eps, WeightDecay, stepSize, invRootC2);
                theta.MarkWritten();
                p.CompressedValuesWritten(kept);
            }
            else
            {
                (_m[i], _v[i], _keptOf[i]) = (Dense(i, _m[i]), Dense(i, _v[i]), null);
                var m = _m[i] ??= Tensor.Zeros(theta.Shape, theta.Device);
                var v = _v[i] ??= Tensor.Zeros(theta.Shape, theta.Device);
                theta.Device.Backend.AdamStep(theta, MaskedGradient(p), m, v, Beta1, Beta2, Eps, WeightDecay, stepSize, invRootC2);
                theta.MarkWritten();
            }
        }
    }

    // A moment in its dense form (shaped as the parameter): as it is when dense, scattered when compressed.
    private Tensor? Dense(int index, Tensor? moment)
    {
        if (moment is null || _keptOf[index] is not { } kept)
        {
            return moment;
        }

        var theta = Parameters[index].Value;
        var dense = Tensor.Zeros(theta.Shape, theta.Device);
        theta.Device.Backend.ScatterKept(kept, moment, dense);
        return dense;
    }

    private static Tensor Compress(Devices.SparseMatrix kept, Tensor? dense)
    {
        var values = Tensor.Zeros([kept.Count], kept.Device);
        if (dense is not null)
        {
            kept.Device.Backend.GatherKept(kept, dense, values);
        }

        return values;
    }
}
