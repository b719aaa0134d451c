using SparseNet.Engine.Nn;
using Random = SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Strategies;

/// <summary>
/// Pruning at initialisation: SNIP, GraSP, SynFlow, and magnitude and uniform random as baselines, applied in
/// one shot or iteratively (step i keeps round((1−s)^(i/n)·N) weights, i.e. each step removes the fraction
/// 1 − (1 − s)^(1/n) of the survivors, rescoring the masked network each time).
/// </summary>
public static class InitPruner
{
    /// <summary>The methods, by name.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["snip", "grasp", "synflow", "magnitude", "random"];

    /// <summary>Iterations a method uses unless told otherwise (SynFlow's 100 rounds; one shot for the rest).</summary>
    public static int DefaultIterations(string method) => method == "synflow" ? 100 : 1;

    /// <summary>
    /// A mask of the prunable <paramref name="layers"/> of <paramref name="model"/> at <paramref name="sparsity"/>
    /// (fraction removed). With <paramref name="invert"/>, the method's ranking is reversed (the score-inversion
    /// sanity check: keep what it would prune). The model's weights and masks are left as they were.
    /// </summary>
    /// <remarks>
    /// GraSP scores fully connected weights on a fresh Glorot-normal draw (from the weights stream of
    /// <paramref name="seed"/>), not on the model's own values, as the authors' code does by default
    /// (<c>reinit=True</c> in Wang et al.'s GraSP implementation); the mask then applies to the model's weights.
    /// </remarks>
    public static MaskSet Prune(string method, Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, double sparsity, int iterations, InitPruneData data, ulong seed, bool invert = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(data);
        if (!Methods.Contains(method))
        {
            throw new ArgumentException($"unknown pruning method '{method}'; choose one of: {string.Join(", ", Methods)}");
        }

        if (!(sparsity >= 0 && sparsity < 1))
        {
            throw new ArgumentException($"sparsity {sparsity} must be in [0, 1)");
        }

        if (iterations < 1)
        {
            throw new ArgumentException($"prune iterations must be ≥ 1, got {iterations}");
        }

        var dense = MaskSet.Dense(layers);
        if (method == "random")
        {
            return invert
                ? throw new ArgumentException("random pruning has no ranking to invert")
                : RandomMasks.Uniform(dense, 1 - sparsity, seed);
        }

        var original = layers.Select(l => (l.Parameter, Value: l.Parameter.Value.Clone(), l.Parameter.Mask)).ToList();
        var scored = original.Select(o => o.Value).ToList();
        if (method == "grasp")
        {
            var rng = new Random.Philox(seed, Random.RngStreams.Weights);
            for (int i = 0; i < scored.Count; i++)
            {
                if (scored[i].Rank == 2)
                {
                    scored[i] = scored[i].Clone();
                    Initializer.Fill(scored[i], InitScheme.GlorotNormal, rng);
                }
            }
        }

        try
        {
            var mask = dense;
            long total = mask.TotalCount;
            for (int i = 1; i <= iterations; i++)
            {
                long target = (long)Math.Round(Math.Pow(1 - sparsity, i / (double)iterations) * total, MidpointRounding.AwayFromZero);
                long toPrune = mask.KeptCount - target;
                if (toPrune <= 0)
                {
                    continue;
                }

                for (int j = 0; j < original.Count; j++)
                {
                    original[j].Parameter.Value.CopyFrom(scored[j]);
                }

                mask.Apply(model);
                var keep = KeepScores(method, model, layers, data);
                if (invert)
                {
                    foreach (var s in keep.Values)
                    {
                        for (int j = 0; j < s.Length; j++)
                        {
                            s[j] = -s[j];
                        }
                    }
                }

                mask = MagnitudePruner.GlobalCount(mask, keep, (int)toPrune);
            }

            return mask;
        }
        finally
        {
            foreach (var (p, value, m) in original)
            {
                p.Value.CopyFrom(value);
                p.Mask = m;
            }
        }
    }

    // Scores where higher means keep; GraSP removes its highest scores, so its keep-score is the negation.
    private static Dictionary<string, float[]> KeepScores(string method, Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, InitPruneData data) => method switch
    {
        "snip" => InitScores.Snip(model, layers, data.SnipInputs, data.SnipLabels),
        "grasp" => InitScores.Grasp(model, layers, data.GraspParts).Score.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => -v).ToArray(), StringComparer.Ordinal),
        "synflow" => InitScores.SynFlow(model, layers, data.InputShape),
        "magnitude" => InitScores.Magnitude(layers),
        _ => throw new ArgumentException($"method '{method}' has no scores"),
    };
}
