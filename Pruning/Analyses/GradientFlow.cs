using System.Globalization;
using SparseNet.Engine;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Analyses;

/// <summary>
/// Gradient flow at the start of training: how much of the dense gradient a mask lets through, and how much of one
/// dense SGD step's progress one step of the masked network makes (the argument that a good ticket keeps the direction
/// of the dense gradient; Evci et al. 2022, Wang et al. 2020).
/// </summary>
/// <remarks>
/// "Dense gradient" of a masked network means the gradient of the loss at the masked weights w = m ⊙ θ with respect to
/// every weight, pruned ones included: g = ∇L(w). Training the masked network follows m ⊙ g (optimizers zero the rest),
/// so cos(g, m ⊙ g) and ‖m ⊙ g‖/‖g‖ say how much of the steepest direction at w the mask keeps. For a 0/1 mask
/// ⟨g, m ⊙ g⟩ = ‖m ⊙ g‖², so the cosine equals the norm ratio and the predicted progress ratio is its square; the
/// measured ratio tests that prediction against the loss itself. Masks are not attached to the model while measuring,
/// so every layer computes its full weight gradient.
/// </remarks>
public static class GradientFlow
{
    /// <summary>
    /// The cosine, norm ratio and first-order progress ratio of <paramref name="gradient"/> (g) and its masked form m ⊙ g,
    /// summed in double precision. Entries of <paramref name="mask"/> are 0 or 1.
    /// </summary>
    /// <returns>cos(g, m ⊙ g), ‖m ⊙ g‖/‖g‖, ⟨g, m ⊙ g⟩/‖g‖²; NaN where a norm they divide by is 0.</returns>
    public static (double Cosine, double NormRatio, double PredictedProgressRatio) Ratios(ReadOnlySpan<float> gradient, ReadOnlySpan<float> mask)
    {
        if (gradient.Length != mask.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"gradient flow: {gradient.Length} gradient entries but {mask.Length} mask entries"));
        }

        var sums = default(Sums);
        sums.Add(gradient, mask);
        return sums.Ratios();
    }

    /// <summary>
    /// <paramref name="count"/> training batches of <paramref name="batchSize"/> examples: the first batches of epoch 0 in
    /// the order <paramref name="seed"/> shuffles <paramref name="data"/> into, so every batch holds different examples and
    /// the same seed gives the same batches.
    /// </summary>
    /// <param name="data">The examples.</param>
    /// <param name="count">Number of batches.</param>
    /// <param name="batchSize">Examples per batch.</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <param name="device">Where the input tensors are made (default: the CPU).</param>
    /// <exception cref="SettingsException">The data cannot fill that many batches.</exception>
    public static IReadOnlyList<(Tensor Inputs, int[] Labels)> Batches(Dataset data, int count, int batchSize, ulong seed, Engine.Devices.Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (count < 1 || batchSize < 1)
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"gradient flow: {count} batches of {batchSize} examples; both must be positive"));
        }

        if ((long)count * batchSize > data.Count)
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"gradient flow: {count} batches of {batchSize} examples need {(long)count * batchSize}, but the training set has {data.Count}; lower --batches"));
        }

        var sampler = new BatchSampler(data.Count, batchSize, shuffle: true, seed);
        var batches = new List<(Tensor, int[])>(count);
        for (int b = 0; b < count; b++)
        {
            var indices = sampler.Batch(0, b);
            var x = new float[indices.Length * data.FeatureSize];
            var y = new int[indices.Length];
            sampler.Gather(data, indices, x, y);
            batches.Add((Tensor.FromArray(x, [indices.Length, .. data.FeatureShape], device ?? Engine.Devices.Device.Cpu), y));
        }

        return batches;
    }

    /// <summary>
    /// Measures the gradient flow of <paramref name="mask"/> at <paramref name="model"/>'s weights (pruned entries are
    /// zeroed first, so the point is w = m ⊙ θ) on <paramref name="batches"/>: the loss L is the mean over all their
    /// examples, computed in training mode (batch norm on batch statistics, as the first step of training sees it), and
    /// the two SGD steps are plain steps of size <paramref name="step"/> (no momentum, no weight decay). The model's
    /// weights, buffers, masks and mode are restored afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">A mask names a parameter the model lacks, or has another shape.</exception>
    /// <exception cref="SettingsException"><paramref name="step"/> is not a positive finite number, or there are no batches.</exception>
    public static GradientFlowMeasure Measure(Module model, MaskSet mask, IReadOnlyList<(Tensor Inputs, int[] Labels)> batches, double step)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(batches);
        if (!(step > 0) || !double.IsFinite(step))
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"gradient flow: step size {step} must be a positive finite number"));
        }

        if (batches.Count == 0)
        {
            throw new SettingsException("gradient flow: no batches to measure on");
        }

        var parameters = model.NamedParameters().ToList();
        var byName = parameters.Select((p, i) => (p.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        var masks = new float[]?[parameters.Count];
        foreach (var (name, shape, values) in mask.Entries)
        {
            if (!byName.TryGetValue(name, out int i))
            {
                throw new ArgumentException($"gradient flow: the mask names '{name}', which the model does not have");
            }

            if (!Shape.Equal(shape, parameters[i].Parameter.Shape))
            {
                throw new ArgumentException($"gradient flow: mask '{name}' has shape {Shape.Format(shape)} but the parameter is {Shape.Format(parameters[i].Parameter.Shape)}");
            }

            masks[i] = values;
        }

        var original = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        var attached = parameters.Select(p => p.Parameter.Mask).ToArray();
        bool wasTraining = model.IsTraining;
        try
        {
            foreach (var (_, p) in parameters)
            {
                p.Mask = null;
            }

            model.Train();
            var w = new float[parameters.Count][];
            for (int i = 0; i < parameters.Count; i++)
            {
                w[i] = parameters[i].Parameter.Value.ToArray();
                if (masks[i] is { } m)
                {
                    for (int j = 0; j < w[i].Length; j++)
                    {
                        w[i][j] *= m[j];
                    }
                }
            }

            SetWeights(parameters, w);
            var start = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);

            int examples = batches.Sum(b => b.Labels.Length);
            var g = Gradient(model, parameters, batches, examples);
            var sums = default(Sums);
            var prunable = default(Sums);
            for (int i = 0; i < parameters.Count; i++)
            {
                sums.Add(g[i], masks[i]);
                if (masks[i] is not null)
                {
                    prunable.Add(g[i], masks[i]);
                }
            }

            var (cosine, normRatio, predicted) = sums.Ratios();

            // Every loss is taken from the same starting buffers, through the same code, so that their differences
            // hold only the effect of the step.
            double LossAt(float[][] weights)
            {
                model.LoadStateDict(start);
                SetWeights(parameters, weights);
                return Loss(model, batches, examples);
            }

            double loss = LossAt(w);
            double denseLoss = LossAt(Stepped(w, g, null, step));
            double sparseLoss = LossAt(Stepped(w, g, masks, step));
            return new GradientFlowMeasure(
                examples,
                loss,
                Math.Sqrt(sums.GG),
                Math.Sqrt(sums.MM),
                cosine,
                normRatio,
                predicted,
                step,
                denseLoss,
                sparseLoss,
                (loss - sparseLoss) / (loss - denseLoss),
                prunable.Ratios().Cosine);
        }
        finally
        {
            model.LoadStateDict(original);
            for (int i = 0; i < parameters.Count; i++)
            {
                parameters[i].Parameter.Mask = attached[i];
            }

            model.Train(wasTraining);
        }
    }

    // g = ∂L/∂w with L the mean loss over every example of the batches: each batch's gradient of its mean loss, weighted
    // by its share of the examples, summed in double in batch order.
    private static float[][] Gradient(Module model, List<(string Name, Parameter Parameter)> parameters, IReadOnlyList<(Tensor Inputs, int[] Labels)> batches, int examples)
    {
        var sum = parameters.Select(p => new double[p.Parameter.Size]).ToArray();
        foreach (var (inputs, labels) in batches)
        {
            foreach (var (_, p) in parameters)
            {
                p.ClearGrad(releaseBuffer: true);
            }

            var loss = Tensor.SoftmaxCrossEntropy(model.Forward(inputs), labels);
            Gradients.Backward(loss);
            double weight = labels.Length / (double)examples;
            for (int i = 0; i < parameters.Count; i++)
            {
                if (parameters[i].Parameter.Grad is { } grad)
                {
                    var values = grad.ToArray();
                    for (int j = 0; j < values.Length; j++)
                    {
                        sum[i][j] += weight * values[j];
                    }
                }
            }
        }

        foreach (var (_, p) in parameters)
        {
            p.ClearGrad(releaseBuffer: true);
        }

        return sum.Select(s => s.Select(v => (float)v).ToArray()).ToArray();
    }

    // Mean loss over every example of the batches, in training mode, without recording.
    private static double Loss(Module model, IReadOnlyList<(Tensor Inputs, int[] Labels)> batches, int examples)
    {
        using var noGrad = GradMode.NoGrad();
        double sum = 0;
        foreach (var (inputs, labels) in batches)
        {
            sum += Tensor.SoftmaxCrossEntropy(model.Forward(inputs), labels).Item() * (double)labels.Length;
        }

        return sum / examples;
    }

    // w − η (m ⊙) g, each entry rounded once to float.
    private static float[][] Stepped(float[][] w, float[][] g, float[]?[]? masks, double step)
    {
        var result = new float[w.Length][];
        for (int i = 0; i < w.Length; i++)
        {
            result[i] = new float[w[i].Length];
            var m = masks?[i];
            for (int j = 0; j < w[i].Length; j++)
            {
                double gj = m is null ? g[i][j] : m[j] * (double)g[i][j];
                result[i][j] = (float)(w[i][j] - (step * gj));
            }
        }

        return result;
    }

    private static void SetWeights(List<(string Name, Parameter Parameter)> parameters, float[][] values)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var value = parameters[i].Parameter.Value;
            value.CopyFrom(Tensor.FromArray(values[i], value.Shape, value.Device));
        }
    }

    // ‖g‖², ‖m ⊙ g‖² and ⟨g, m ⊙ g⟩ in double; a null mask keeps everything.
    private struct Sums
    {
        public double GG;
        public double MM;
        public double GM;

        public void Add(ReadOnlySpan<float> g, ReadOnlySpan<float> m)
        {
            bool dense = m.IsEmpty && !g.IsEmpty;
            for (int j = 0; j < g.Length; j++)
            {
                double gj = g[j];
                double mg = dense ? gj : m[j] * gj;
                GG += gj * gj;
                MM += mg * mg;
                GM += gj * mg;
            }
        }

        // sqrt(a·b) rather than sqrt(a)·sqrt(b): with a mask of ones it is exactly ‖g‖², so every ratio is exactly 1.
        public readonly (double Cosine, double NormRatio, double Predicted) Ratios() =>
            (GM / Math.Sqrt(GG * MM), Math.Sqrt(MM / GG), GM / GG);
    }
}
