using System.Globalization;
using SparseNet.Engine;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>What a pruning-at-initialisation sweep runs: methods × sparsities, and the sanity checks of each mask.</summary>
public sealed record PruneAtInitSettings
{
    /// <summary>Sanity checks of Frankle et al. (2021) that can run beside each mask.</summary>
    public static IReadOnlyList<string> KnownSanityChecks { get; } = ["shuffle", "reinit", "invert"];

    /// <summary>
    /// Branch name of a sanity check of a method: <c>snip_shuffled</c>, <c>snip_reinitialized</c>,
    /// <c>snip_inverted</c> (distinct from IMP's <c>random_reinit</c> and <c>shuffle</c> branches).
    /// </summary>
    public static string SanityBranch(string method, string check) => check switch
    {
        "shuffle" => $"{method}_shuffled",
        "reinit" => $"{method}_reinitialized",
        "invert" => $"{method}_inverted",
        _ => throw new SettingsException($"unknown sanity check '{check}'; choose from {string.Join(", ", KnownSanityChecks)}"),
    };

    /// <summary>Methods (see <see cref="InitPruner.Methods"/>).</summary>
    public IReadOnlyList<string> Methods { get; init; } = ["snip"];

    /// <summary>Fractions of weights removed; 0 trains the dense network as the reference.</summary>
    public IReadOnlyList<double> Sparsities { get; init; } = [0.9];

    /// <summary>Pruning iterations, or 0 for each method's default (SynFlow 100, others 1).</summary>
    public int PruneIterations { get; init; }

    /// <summary>Examples in SNIP's mini-batch.</summary>
    public int SnipBatch { get; init; } = 100;

    /// <summary>Examples per class GraSP looks at.</summary>
    public int GraspPerClass { get; init; } = 10;

    /// <summary>Sanity checks run beside every pruned mask.</summary>
    public IReadOnlyList<string> SanityChecks { get; init; } = ["shuffle", "reinit", "invert"];

    /// <summary>Iterations <paramref name="method"/> uses.</summary>
    public int IterationsFor(string method) => PruneIterations > 0 ? PruneIterations : InitPruner.DefaultIterations(method);

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        foreach (string m in Methods)
        {
            Require(InitPruner.Methods.Contains(m), $"unknown method '{m}'; choose from {string.Join(", ", InitPruner.Methods)}");
        }

        Require(Methods.Count > 0 || Sparsities.All(s => s == 0), "no method given");
        foreach (double s in Sparsities)
        {
            Require(s >= 0 && s < 1, $"sparsity {s.ToString(CultureInfo.InvariantCulture)} must be in [0, 1)");

            // Units are filed by sparsity in thousandths (sparsity_0.950, level 950): a finer value would share a
            // folder with its rounding and silently reuse its results.
            Require(Math.Abs((s * 1000) - Math.Round(s * 1000)) < 1e-6, $"sparsity {s.ToString(CultureInfo.InvariantCulture)} is not a multiple of 0.001; sparsities are recorded in thousandths (e.g. 0.95, 0.995, 0.999)");
        }

        foreach (var group in Sparsities.GroupBy(s => Math.Round(s * 1000)).Where(g => g.Count() > 1))
        {
            Require(false, $"sparsity {group.First().ToString(CultureInfo.InvariantCulture)} is given {group.Count()} times");
        }

        Require(Sparsities.Count > 0, "no sparsity given");
        Require(PruneIterations >= 0, $"prune iterations must be ≥ 0 (0: the method's default), got {PruneIterations}");
        Require(SnipBatch > 0, $"SNIP batch must be positive, got {SnipBatch}");
        Require(GraspPerClass > 0, $"GraSP examples per class must be positive, got {GraspPerClass}");
        foreach (string c in SanityChecks)
        {
            Require(KnownSanityChecks.Contains(c), $"unknown sanity check '{c}'; choose from {string.Join(", ", KnownSanityChecks)}");
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SettingsException(message);
        }
    }
}
