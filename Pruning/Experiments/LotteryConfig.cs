using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.IO;
using SparseNet.Engine.Training;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Hyperparameters of an iterative-magnitude-pruning experiment. The defaults are the main job:
/// LeNet-300-100 on mnist-10k, 1,000 training images held out for validation, layerwise pruning of 20%
/// per level with the output layer at 10%, reset to θ₀, 16 levels (dense plus 15 prunings, down to about
/// 3.6% of weights), with the random-reinitialisation and random-pruning branches.
/// </summary>
public sealed record LotteryConfig
{
    /// <summary>Branch names an experiment can run besides the lottery tickets themselves.</summary>
    public static IReadOnlyList<string> KnownBranches { get; } = ["random_reinit", "random_prune", "shuffle"];

    /// <summary>Architecture, data and training recipe of every level.</summary>
    public TrainingRecipe Recipe { get; init; } = new() { ValidationSize = 1000 };

    /// <summary>Levels including the dense one (level 0); levels − 1 pruning steps.</summary>
    public int Levels { get; init; } = 16;

    /// <summary>Fraction of surviving weights removed per level (all layers, or globally).</summary>
    public double PruneRate { get; init; } = 0.2;

    /// <summary>Per-level rate for the output layer in layerwise pruning.</summary>
    public double OutputPruneRate { get; init; } = 0.1;

    /// <summary>Per-level rate for convolutions (except an output layer) in layerwise pruning; null: <see cref="PruneRate"/>.</summary>
    public double? ConvPruneRate { get; init; }

    /// <summary>Per-level rate for fully connected layers (except the output layer) in layerwise pruning; null: <see cref="PruneRate"/>.</summary>
    public double? FcPruneRate { get; init; }

    /// <summary>One threshold across all layers instead of a rate per layer.</summary>
    public bool Global { get; init; }

    /// <summary>Layers never pruned (e.g. <c>fc3</c>).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>
    /// 0: reset survivors to θ₀ each level; k &gt; 0: rewind to θₖ, the dense run's weights after k iterations, and
    /// train iterations k … T (the learning-rate schedule and the data order continue from k; the optimizer's
    /// state starts fresh, as in open_lth). Every unit after the dense level, baselines included, trains k … T.
    /// </summary>
    public int RewindIteration { get; init; }

    /// <summary>Evaluate on validation and test data every this many iterations.</summary>
    public int EvalEvery { get; init; } = 100;

    /// <summary>
    /// Let pruning with one threshold across layers (global IMP, SNIP, GraSP, SynFlow, magnitude) remove every weight
    /// of a layer (layer collapse) and train on; without it, a mask that empties a layer is refused, naming the layer.
    /// It never changes a mask that keeps every layer, so it is not part of the run's identity.
    /// </summary>
    public bool AllowEmptyLayers { get; init; }

    /// <summary>Branches run at every pruned level (see <see cref="KnownBranches"/>).</summary>
    public IReadOnlyList<string> Branches { get; init; } = ["random_reinit", "random_prune"];

    /// <summary>Levels at which the branches run; empty: every pruned level.</summary>
    public IReadOnlyList<int> BranchLevels { get; init; } = [];

    /// <summary>Base seed; replicate r uses seed + r.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Base seed of the data order (which batches each iteration sees, and their augmentation), separate from the
    /// initialisation's; replicate r uses data seed + r. Null (the default): the replicate's <see cref="Seed"/>.
    /// </summary>
    public ulong? DataSeed { get; init; }

    /// <summary>The data-order seed of <paramref name="replicate"/> (see <see cref="DataSeed"/>).</summary>
    public ulong DataSeedOf(int replicate) => (DataSeed ?? Seed) + (ulong)replicate;

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        Recipe.Validate();
        Require(Levels >= 1, $"levels must be ≥ 1, got {Levels}");
        Require(PruneRate > 0 && PruneRate < 1, $"prune rate must be in (0, 1), got {PruneRate.ToString(CultureInfo.InvariantCulture)}");
        Require(ConvPruneRate is null || (ConvPruneRate > 0 && ConvPruneRate < 1), $"conv prune rate must be in (0, 1), got {ConvPruneRate?.ToString(CultureInfo.InvariantCulture)}");
        Require(FcPruneRate is null || (FcPruneRate > 0 && FcPruneRate < 1), $"fc prune rate must be in (0, 1), got {FcPruneRate?.ToString(CultureInfo.InvariantCulture)}");
        Require(!Global || (ConvPruneRate is null && FcPruneRate is null), "--conv-prune-rate and --fc-prune-rate set rates per layer type for layerwise pruning; global pruning takes one rate, --prune-rate");
        Require(OutputPruneRate >= 0 && OutputPruneRate < 1, $"output prune rate must be in [0, 1), got {OutputPruneRate.ToString(CultureInfo.InvariantCulture)}");
        Require(RewindIteration >= 0, $"rewind iteration must be ≥ 0, got {RewindIteration}");
        Require(EvalEvery > 0, $"eval-every must be positive, got {EvalEvery}");
        Require(Recipe.ValidationSize > 0, "a lottery experiment needs a validation set (validation size > 0) for early stopping");
        foreach (int level in BranchLevels)
        {
            Require(level >= 1 && level < Levels, $"branch level {level} must be a pruned level, 1 to {Levels - 1}");
        }

        foreach (string b in Branches)
        {
            Require(KnownBranches.Contains(b), $"unknown branch '{b}'; choose from {string.Join(", ", KnownBranches)}");
        }
    }

    /// <summary>Number of levels that reach <paramref name="targetSparsity"/> at <paramref name="pruneRate"/> per level: ⌈log(1−s)/log(1−p)⌉ prunings plus the dense level.</summary>
    public static int LevelsFor(double targetSparsity, double pruneRate)
    {
        if (!(targetSparsity > 0 && targetSparsity < 1) || !(pruneRate > 0 && pruneRate < 1))
        {
            throw new SettingsException($"target sparsity {targetSparsity.ToString(CultureInfo.InvariantCulture)} and prune rate {pruneRate.ToString(CultureInfo.InvariantCulture)} must be in (0, 1)");
        }

        // A small tolerance keeps exact powers (e.g. s = 1 − 0.8²) from rounding up to an extra level.
        return (int)Math.Ceiling((Math.Log(1 - targetSparsity) / Math.Log(1 - pruneRate)) - 1e-9) + 1;
    }

    /// <summary>
    /// The per-level rate of a layer in layerwise pruning, and the option that sets it: the output layer (the last
    /// prunable one) has <see cref="OutputPruneRate"/>; other convolutions <see cref="ConvPruneRate"/> and other fully
    /// connected layers <see cref="FcPruneRate"/>, each <see cref="PruneRate"/> when not set.
    /// </summary>
    internal (double Rate, string Option) LayerRate(Masks.LayerKind kind, bool isOutput) => isOutput
        ? (OutputPruneRate, "--output-prune-rate")
        : kind == Masks.LayerKind.Conv2d
            ? (ConvPruneRate ?? PruneRate, ConvPruneRate is null ? "--prune-rate (or --conv-prune-rate)" : "--conv-prune-rate")
            : (FcPruneRate ?? PruneRate, FcPruneRate is null ? "--prune-rate (or --fc-prune-rate)" : "--fc-prune-rate");

    /// <summary>Whether the branches run at <paramref name="level"/>.</summary>
    internal bool RunsBranchesAt(int level) => level > 0 && (BranchLevels.Count == 0 || BranchLevels.Contains(level));

    /// <summary>
    /// The settings that differ from the defaults and decide what each training computes, as canonical
    /// key/value text pairs in key order; only these enter the run's name, so leaving an option at its
    /// default never changes it. How much of the experiment runs (levels, branches, the levels the
    /// branches run at, replicates) is left out: running more of it later adds to the same run directory.
    /// </summary>
    internal IReadOnlyList<KeyValuePair<string, string>> NonDefaultSettings()
    {
        var mine = Settings(this);
        var defaults = Settings(new LotteryConfig());
        return mine.Where(kv => defaults[kv.Key] != kv.Value && !ScopeKeys.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
    }

    private static readonly string[] ScopeKeys = ["levels", "branches", "branch_levels", "allow_empty_layers"];

    /// <summary>
    /// Short hash naming the run, e.g. <c>3fa9c0e1d2</c>: of <see cref="ResultsFormat.Version"/>, the data's content
    /// fingerprint (<paramref name="dataFingerprint"/>, so replacing the files under the same name starts a new
    /// run) and the non-default settings.
    /// </summary>
    internal string Hash(string dataFingerprint)
    {
        ArgumentNullException.ThrowIfNull(dataFingerprint);
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"results_version={ResultsFormat.Version}"),
            $"data_fingerprint={dataFingerprint}",
        };
        lines.AddRange(NonDefaultSettings().Select(kv => $"{kv.Key}={kv.Value}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines))))[..10];
    }

    /// <summary>All settings as a JSON object with fixed key order, with the results version and the data's fingerprint.</summary>
    internal string ToJson(string dataFingerprint)
    {
        ArgumentNullException.ThrowIfNull(dataFingerprint);
        var all = Settings(this);
        all["data_fingerprint"] = dataFingerprint;
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("results_version", ResultsFormat.Version);
            foreach (var (key, value) in all.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
        });
    }

    private static Dictionary<string, string> Settings(LotteryConfig c)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        // Single-precision settings print as the shortest text that reads back to the same float (0.0012,
        // not the 0.0012000000569969416 of its double widening).
        static string F32(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        var r = c.Recipe;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = r.Model,
            ["data"] = r.Data,
            ["epochs"] = r.Epochs.ToString(CultureInfo.InvariantCulture),
            ["batch_size"] = r.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = r.Optimizer,
            ["lr"] = F32(r.LearningRate),
            ["momentum"] = F32(r.Momentum),
            ["nesterov"] = r.Nesterov ? "true" : "false",
            ["weight_decay"] = F32(r.WeightDecay),
            ["lr_milestones"] = string.Join(",", r.LrMilestones),
            ["lr_milestone_epochs"] = string.Join(",", r.LrMilestoneEpochs),
            ["lr_gamma"] = F32(r.LrGamma),
            ["warmup"] = r.WarmupIterations.ToString(CultureInfo.InvariantCulture),
            ["init"] = r.Init.ToString(),
            ["validation_size"] = r.ValidationSize.ToString(CultureInfo.InvariantCulture),
            ["train_examples"] = r.TrainExamples.ToString(CultureInfo.InvariantCulture),

            // "default" follows the data (on for CIFAR-10): only an explicit choice enters the run's name.
            ["device"] = r.Device,
            ["sparse"] = r.Sparse.ToString().ToLowerInvariant(),
            ["augment"] = r.Augment switch { null => "default", true => "true", false => "false" },
            ["levels"] = c.Levels.ToString(CultureInfo.InvariantCulture),
            ["prune_rate"] = F(c.PruneRate),
            ["output_prune_rate"] = F(c.OutputPruneRate),

            // A type's own rate enters the run's identity only where it differs from the rate it would otherwise
            // take, so runs from before these settings existed keep their names.
            ["conv_prune_rate"] = c.ConvPruneRate is { } conv && conv != c.PruneRate ? F(conv) : string.Empty,
            ["fc_prune_rate"] = c.FcPruneRate is { } fc && fc != c.PruneRate ? F(fc) : string.Empty,
            ["global"] = c.Global ? "true" : "false",
            ["exclude"] = string.Join(",", c.Exclude),
            ["rewind_iteration"] = c.RewindIteration.ToString(CultureInfo.InvariantCulture),
            ["eval_every"] = c.EvalEvery.ToString(CultureInfo.InvariantCulture),
            ["branches"] = string.Join(",", c.Branches),
            ["branch_levels"] = string.Join(",", c.BranchLevels),
            ["allow_empty_layers"] = c.AllowEmptyLayers ? "true" : "false",
            ["seed"] = c.Seed.ToString(CultureInfo.InvariantCulture),
            ["data_seed"] = c.DataSeed?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
        };
    }

    /// <summary>
    /// Refuses a mask in which some layer keeps no weight, unless <see cref="AllowEmptyLayers"/>; <paramref name="what"/>
    /// says which mask (e.g. <c>global pruning at level 9</c>).
    /// </summary>
    internal void CheckNoEmptyLayer(Masks.MaskSet mask, string what)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (AllowEmptyLayers)
        {
            return;
        }

        foreach (var (name, _, values) in mask.Entries)
        {
            if (values.Length > 0 && Masks.MaskSet.Kept(values) == 0)
            {
                throw new SettingsException($"{what} leaves no weight in {name} (layer collapse); lower the pruning rate or sparsity, or pass --allow-empty-layers to train with the layer empty");
            }
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
