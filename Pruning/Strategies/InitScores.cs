using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Pruning.Strategies;

/// <summary>
/// Saliency scores computed at initialisation, one array per prunable tensor; higher means more worth
/// keeping for every method here (GraSP's "remove the highest" rule is expressed by negating its score).
/// The model's weights are read as they are (already masked when a mask is attached).
/// </summary>
public static class InitScores
{
    /// <summary>
    /// SNIP (Lee et al. 2019): connection sensitivity |g ⊙ θ| of the mean cross-entropy on one batch,
    /// normalised to sum to 1 over all prunable tensors.
    /// </summary>
    public static Dictionary<string, float[]> Snip(Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, Tensor inputs, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        var weights = layers.Select(l => l.Parameter.Value).ToArray();
        var grads = Gradients.Grad([Tensor.SoftmaxCrossEntropy(model.Forward(inputs), labels)], weights, allowUnused: true);
        var scores = new Dictionary<string, float[]>(StringComparer.Ordinal);
        double total = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            var w = weights[i].ToArray();
            var g = grads[i]?.ToArray() ?? new float[w.Length];
            var s = new float[w.Length];
            for (int j = 0; j < s.Length; j++)
            {
                s[j] = MathF.Abs(g[j] * w[j]);
                total += s[j];
            }

            scores[layers[i].Name] = s;
        }

        if (total > 0)
        {
            foreach (var s in scores.Values)
            {
                for (int j = 0; j < s.Length; j++)
                {
                    s[j] = (float)(s[j] / total);
                }
            }
        }

        return scores;
    }

    /// <summary>
    /// GraSP (Wang et al. 2020): g = Σₕ ∇L(x_h)/T-logits, Hg = Σₕ ∇(g·∇L(x_h)) by double backward (exact), and the
    /// score −θ ⊙ Hg, of which the highest are removed. Returns that score, Hg and g per tensor.
    /// </summary>
    public static GraspScores Grasp(Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, IReadOnlyList<(Tensor Inputs, int[] Labels)> parts, float temperature = 200f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(parts);
        if (!(temperature > 0f))
        {
            throw new ArgumentException($"grasp: temperature {temperature} must be positive");
        }

        var weights = layers.Select(l => l.Parameter.Value).ToArray();
        Tensor Loss((Tensor Inputs, int[] Labels) part) => Tensor.SoftmaxCrossEntropy(model.Forward(part.Inputs) * (1f / temperature), part.Labels);

        // First pass: the plain gradient, summed over the parts.
        var g = new Tensor?[weights.Length];
        foreach (var part in parts)
        {
            var gp = Gradients.Grad([Loss(part)], weights, allowUnused: true);
            for (int i = 0; i < g.Length; i++)
            {
                g[i] = gp[i] is null ? g[i] : g[i] is null ? gp[i]! : g[i]! + gp[i]!;
            }
        }

        var gConst = g.Select((t, i) => (t ?? Tensor.Zeros(weights[i].Shape, weights[i].Device)).Detach()).ToArray();

        // Second pass: Hg = ∇_θ (g · ∇_θ L) per part, through a backward pass that records its own graph.
        var hg = weights.Select(w => new float[w.Size]).ToArray();
        foreach (var part in parts)
        {
            var gf = Gradients.Grad([Loss(part)], weights, createGraph: true, allowUnused: true);
            Tensor? z = null;
            for (int i = 0; i < gf.Length; i++)
            {
                if (gf[i] is { } gi)
                {
                    var term = (gConst[i] * gi).Sum();
                    z = z is null ? term : z + term;
                }
            }

            if (z is null || !z.RequiresGrad)
            {
                continue;
            }

            var hp = Gradients.Grad([z], weights, allowUnused: true);
            for (int i = 0; i < hp.Length; i++)
            {
                if (hp[i] is { } h)
                {
                    var values = h.ToArray();
                    for (int j = 0; j < values.Length; j++)
                    {
                        hg[i][j] += values[j];
                    }
                }
            }
        }

        var score = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var hgOut = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var gOut = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
        {
            var w = weights[i].ToArray();
            score[layers[i].Name] = w.Select((v, j) => -v * hg[i][j]).ToArray();
            hgOut[layers[i].Name] = hg[i];
            gOut[layers[i].Name] = gConst[i].ToArray();
        }

        return new GraspScores(score, hgOut, gOut);
    }

    /// <summary>
    /// SynFlow (Tanaka et al. 2020), one round: with every parameter replaced by its absolute value and an
    /// all-ones input, R = Σ outputs; the score is |∂R/∂θ ⊙ θ|. The model's values and mode are restored.
    /// </summary>
    public static Dictionary<string, float[]> SynFlow(Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(inputShape);
        var state = model.StateDict();
        var saved = state.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        bool wasTraining = model.IsTraining;
        try
        {
            using (GradMode.NoGrad())
            {
                foreach (var t in state.Values)
                {
                    t.CopyFrom(t.Abs());
                }
            }

            model.Eval();
            var weights = layers.Select(l => l.Parameter.Value).ToArray();
            var r = model.Forward(Tensor.Full(1f, [1, .. inputShape], model.Device)).Sum();
            var grads = Gradients.Grad([r], weights, allowUnused: true);
            var scores = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (int i = 0; i < layers.Count; i++)
            {
                var w = weights[i].ToArray();
                var g = grads[i]?.ToArray() ?? new float[w.Length];
                scores[layers[i].Name] = w.Select((v, j) => MathF.Abs(g[j] * v)).ToArray();
            }

            return scores;
        }
        finally
        {
            foreach (var (name, t) in state)
            {
                t.CopyFrom(saved[name]);
            }

            model.Train(wasTraining);
        }
    }

    /// <summary>Magnitude at initialisation: |θ|.</summary>
    public static Dictionary<string, float[]> Magnitude(IReadOnlyList<(string Name, Parameter Parameter)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        return layers.ToDictionary(l => l.Name, l => l.Parameter.Value.ToArray().Select(MathF.Abs).ToArray(), StringComparer.Ordinal);
    }
}
