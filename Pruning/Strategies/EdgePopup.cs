using System.Numerics.Tensors;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Pruning.Masks;
using Tensor = SparseNet.Engine.Tensors.Tensor;

namespace SparseNet.Pruning.Strategies;

/// <summary>
/// Edge-popup (Ramanujan et al. 2020, "What's hidden in a randomly weighted neural network?"): finds a supermask
/// of a network whose weights are never trained. Each prunable weight w gets a real-valued score s; the forward pass
/// uses w ⊙ m, where m keeps the top-k fraction of |s| in each layer, and the backward pass sends the gradient with
/// respect to the effective weight straight through the top-k to the scores: ∂L/∂|s| = ∂L/∂(w ⊙ m) · w, at pruned
/// positions too, which is how a pruned weight's score can rise until it enters the mask (see <see cref="StraightThrough"/>).
/// </summary>
/// <remarks>
/// It is an <see cref="Optimizer"/> of the model, so any <see cref="Engine.Training.Trainer"/> trains a supermask:
/// backward leaves ∂L/∂(w ⊙ m) in each weight's gradient, and <see cref="Step"/> turns it into the scores' gradient,
/// moves the scores with the score optimizer, recomputes the masks and writes w ⊙ m into the weights. The frozen
/// weights w are a private copy taken at construction that nothing writes; biases and batch-norm parameters are
/// never updated either. Scores start uniform in ±1/√fan_in (PyTorch's default layer init, as the reference
/// implementation draws them) from the scores stream of the seed.
/// </remarks>
public sealed class EdgePopup : Optimizer
{
    /// <summary>
    /// The Philox stream the initial scores are drawn from, apart from the named streams of
    /// <see cref="RngStreams"/> so that drawing scores never shifts any other numbers.
    /// </summary>
    public const ulong ScoreStream = 32;

    private readonly List<Layer> _layers = [];
    private readonly Optimizer _scoreOptimizer;

    /// <summary>
    /// Freezes the current prunable weights of <paramref name="model"/> (see <see cref="PrunableLayers"/>), draws a
    /// score per weight and writes w ⊙ m, m keeping round(<paramref name="density"/>·n) weights of each layer, into the model.
    /// </summary>
    /// <param name="model">The network; its prunable weights are the frozen random weights.</param>
    /// <param name="density">Fraction of each layer's weights the mask keeps, in (0, 1].</param>
    /// <param name="scoreOptimizer">Builds the optimizer that moves the scores (e.g. SGD with momentum, or Adam).</param>
    /// <param name="seed">Seed of the initial scores.</param>
    public EdgePopup(Module model, double density, Func<IReadOnlyList<Parameter>, Optimizer> scoreOptimizer, ulong seed)
        : base(model?.Parameters() ?? throw new ArgumentNullException(nameof(model)), 0f)
    {
        ArgumentNullException.ThrowIfNull(scoreOptimizer);
        if (!(density > 0 && density <= 1))
        {
            throw new ArgumentException($"supermask: density {density} must be in (0, 1]");
        }

        Density = density;
        var rng = new Philox(seed, ScoreStream);
        foreach (var (name, weight) in PrunableLayers.Find(model))
        {
            var (fanIn, _) = Initializer.Fans(weight.Shape);
            float bound = 1f / MathF.Sqrt(fanIn);
            var scores = new float[weight.Size];
            rng.FillUniform(scores, -bound, bound);
            int k = TopKMask.KeptCount(weight.Size, density);
            if (k == 0)
            {
                throw new ArgumentException($"supermask: density {density} keeps no weight of {name} ({weight.Size} weights); raise the density");
            }

            _layers.Add(new Layer(
                name,
                weight,
                Tensor.FromArray(weight.Value.ToArray(), weight.Shape),
                new Parameter(Tensor.FromArray(scores, weight.Shape)),
                Tensor.Zeros(weight.Shape),
                new float[weight.Size],
                Tensor.Zeros(weight.Size),
                k));
        }

        if (_layers.Count == 0)
        {
            throw new ArgumentException("supermask: the model has no Linear or Conv2d weight to mask");
        }

        _scoreOptimizer = scoreOptimizer(_layers.Select(l => l.Scores).ToList());

        // Until a schedule sets it, a step moves the scores at the score optimizer's own rate.
        LearningRate = _scoreOptimizer.LearningRate;
        Refresh();
    }

    /// <summary>Fraction of each layer's weights the mask keeps.</summary>
    public double Density { get; }

    /// <summary>The optimizer that moves the scores.</summary>
    public Optimizer ScoreOptimizer => _scoreOptimizer;

    /// <summary>The scores by prunable weight name (e.g. <c>fc1.weight</c>), in layer order.</summary>
    public IReadOnlyList<(string Name, Parameter Scores)> Scores => _layers.Select(l => (l.Name, l.Scores)).ToList();

    /// <summary>The frozen weights w by prunable weight name, in layer order (the model's weights are w ⊙ m).</summary>
    public IReadOnlyList<(string Name, Tensor Weight)> FrozenWeights => _layers.Select(l => (l.Name, l.Frozen)).ToList();

    /// <summary>Weights each layer keeps, by name.</summary>
    public IReadOnlyDictionary<string, int> KeptCounts => _layers.ToDictionary(l => l.Name, l => l.Kept, StringComparer.Ordinal);

    /// <summary>A copy of the current supermask (the top-k of |s| per layer).</summary>
    public MaskSet Mask() => new(_layers.Select(l => (l.Name, (int[])l.Weight.Shape.Clone(), (float[])l.Mask.Clone())));

    /// <summary>
    /// Replaces every prunable weight w of <paramref name="model"/> by sign(w)·√(2/fan_in), the signed Kaiming constant
    /// (a zero weight takes the + sign); call it on Kaiming normal weights to keep their signs.
    /// </summary>
    public static void MakeSignedConstant(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (_, weight) in PrunableLayers.Find(model))
        {
            var (fanIn, _) = Initializer.Fans(weight.Shape);
            float sigma = MathF.Sqrt(2f / fanIn);
            var values = weight.Value.ToArray();
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = values[i] < 0f ? -sigma : sigma;
            }

            weight.Value.CopyFrom(Tensor.FromArray(values, weight.Shape));
        }
    }

    /// <summary>
    /// Moves the scores by the straight-through gradient ∂L/∂(w ⊙ m) · w · sign(s) (at the score optimizer's learning rate, set to
    /// this one's), then recomputes the masks and writes w ⊙ m into the model's weights.
    /// </summary>
    public override void Step()
    {
        _scoreOptimizer.LearningRate = LearningRate;
        foreach (var layer in _layers)
        {
            if (layer.Weight.Grad is not { } effective)
            {
                layer.Scores.Grad = null;
                continue;
            }

            StraightThrough(effective.Span, layer.Frozen.Span, layer.Scores.Value.Span, layer.ScoreGrad.Span);
            layer.Scores.Grad = layer.ScoreGrad;
        }

        _scoreOptimizer.Step();
        Refresh();
        StepCount++;
    }

    /// <summary>
    /// The scores' gradient: ∂L/∂s = ∂L/∂(w ⊙ m) · w · sign(s). The top-k ranks |s|, so the straight-through rule
    /// hands ∂L/∂(w ⊙ m) · w to |s|, and the chain rule through |s| gives the sign (0 at s = 0, as PyTorch's abs).
    /// </summary>
    /// <param name="effectiveGradient">∂L/∂(w ⊙ m), as backward leaves it in the weight's gradient.</param>
    /// <param name="weights">The frozen weights w.</param>
    /// <param name="scores">The scores s.</param>
    /// <param name="scoreGradient">Receives ∂L/∂s.</param>
    public static void StraightThrough(ReadOnlySpan<float> effectiveGradient, ReadOnlySpan<float> weights, ReadOnlySpan<float> scores, Span<float> scoreGradient)
    {
        int n = scores.Length;
        if (effectiveGradient.Length != n || weights.Length != n || scoreGradient.Length != n)
        {
            throw new ArgumentException($"supermask: gradient ({effectiveGradient.Length}), weights ({weights.Length}), scores ({n}) and score gradient ({scoreGradient.Length}) must have one length");
        }

        TensorPrimitives.Multiply(effectiveGradient, weights, scoreGradient);
        for (int i = 0; i < n; i++)
        {
            float s = scores[i];
            scoreGradient[i] = s > 0f ? scoreGradient[i] : s < 0f ? -scoreGradient[i] : 0f;
        }
    }

    /// <summary>Recomputes each layer's mask from its scores and writes w ⊙ m into the model's weight.</summary>
    private void Refresh()
    {
        foreach (var layer in _layers)
        {
            TopKMask.Keep(layer.Scores.Value.Span, layer.Kept, layer.Mask, layer.Magnitudes);
            TensorPrimitives.Multiply(layer.Frozen.Span, layer.Mask, layer.Weight.Value.Span);
        }
    }

    private sealed record Layer(string Name, Parameter Weight, Tensor Frozen, Parameter Scores, Tensor ScoreGrad, float[] Mask, Tensor Magnitudes, int Kept);
}
