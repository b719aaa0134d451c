using System.Globalization;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Pruning at initialisation: for every method and sparsity, a mask computed at θ₀ and the network trained
/// from θ₀ under it, recorded like an IMP level, with the sanity checks of Frankle et al. (2021) beside
/// each mask (layerwise shuffle, reinitialisation, score inversion). Units live in the same run directory
/// as the IMP experiment with the same training settings, so one report shows both; like IMP units they
/// are skipped once finished, so an interrupted sweep resumes.
/// </summary>
public sealed class PruneAtInitExperiment
{
    /// <summary>Branch name of the dense reference (sparsity 0).</summary>
    public const string DenseBranch = "dense";

    private readonly LotteryConfig _config;
    private readonly PruneAtInitSettings _settings;

    /// <summary>Prepares a sweep; <paramref name="config"/> gives the training recipe, seed, exclusions and evaluation interval.</summary>
    public PruneAtInitExperiment(LotteryConfig config, PruneAtInitSettings settings, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        config.Validate();
        settings.Validate();
        _config = config;
        _settings = settings;
        RunDirectory = runDirectory;
    }

    /// <summary>Where the files live.</summary>
    public string RunDirectory { get; }

    /// <summary>The level number a sparsity is recorded under: thousandths of the weights removed.</summary>
    public static int LevelOf(double sparsity) => (int)Math.Round(sparsity * 1000, MidpointRounding.AwayFromZero);

    /// <summary>Trainings in a sweep of <paramref name="replicates"/> replicates (those of <paramref name="shard"/>, if given).</summary>
    public int UnitCount(int replicates, Shard? shard = null)
    {
        int pruned = _settings.Sparsities.Count(s => s > 0);
        int dense = _settings.Sparsities.Any(s => s == 0) ? 1 : 0;
        int perMethod = _settings.Methods.Sum(m => pruned * (1 + _settings.SanityChecks.Count(c => !(c == "invert" && m == "random"))));
        return (shard ?? Shard.All).Replicates(replicates).Count() * (dense + perMethod);
    }

    /// <summary>Runs (or resumes) the sweep, then writes and returns the run's summary (IMP results included).</summary>
    /// <param name="replicates">Replicates in the experiment (seeds seed, seed+1, ...).</param>
    /// <param name="progress">Called on every iteration and finished unit.</param>
    /// <param name="cancellation">Stops the run between iterations (finished units are kept).</param>
    /// <param name="shard">Which of several processes this is; it runs only its replicates (default: all of them).</param>
    public ExperimentSummary Run(int replicates, Action<ExperimentProgress>? progress = null, Shard? shard = null, CancellationToken cancellation = default)
    {
        var mine = shard ?? Shard.All;
        if (replicates < 1)
        {
            throw new SettingsException($"replicates must be ≥ 1, got {replicates}");
        }

        var start = ExperimentStart.Open(_config, RunDirectory, "sparsenet prune-at-init", ValidatePlan, cancellation);
        var context = start.Context;
        var counter = new UnitCounter(UnitCount(replicates, mine), progress);
        foreach (int r in mine.Replicates(replicates))
        {
            using (start.Replicate(r))
            {
                RunReplicate(context, r, counter, cancellation);
            }
        }

        return start.WriteSummary();
    }

    // Every sparsity must leave at least one weight (one per layer for random pruning, which prunes each layer
    // alike): checked against the model before anything is trained.
    private void ValidatePlan(ExperimentContext context)
    {
        var layers = PrunableLayers.Find(context.CreateModel(_config.Seed), _config.Exclude);
        long total = layers.Sum(l => (long)l.Parameter.Size);
        foreach (double sparsity in _settings.Sparsities.Where(s => s > 0))
        {
            string s = sparsity.ToString(CultureInfo.InvariantCulture);
            if (layers.Count == 0)
            {
                throw new SettingsException($"--exclude {string.Join(",", _config.Exclude)} leaves no layer to prune at sparsity {s}");
            }

            long kept = (long)Math.Round((1 - sparsity) * total, MidpointRounding.AwayFromZero);
            if (kept < 1)
            {
                throw new SettingsException($"sparsity {s} keeps none of the {total} prunable weights; the highest sparsity that keeps one is {(1 - (1.0 / total)).ToString("0.######", CultureInfo.InvariantCulture)}");
            }

            if (_settings.Methods.Contains("random"))
            {
                foreach (var (name, parameter) in layers)
                {
                    if (Math.Round((1 - sparsity) * parameter.Size, MidpointRounding.AwayFromZero) < 1)
                    {
                        throw new SettingsException($"random pruning at sparsity {s} keeps none of the {parameter.Size} weights of {name}; lower the sparsity or --exclude {PrunableLayers.LayerName(name)}");
                    }
                }
            }
        }
    }

    private void RunReplicate(ExperimentContext context, int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Seed + (ulong)replicate;
        string dir = Path.Combine(RunDirectory, $"replicate_{replicate}");
        var model = context.CreateModel(seed);
        var theta0 = ExperimentContext.Snapshot(model);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        if (_settings.Sparsities.Any(s => s == 0))
        {
            context.RunUnit(Path.Combine(dir, "init_dense", "sparsity_0.000", DenseBranch), DenseBranch, replicate, 0, seed, theta0, MaskSet.Dense(layers), counter, null, cancellation, dataSeed: _config.DataSeedOf(replicate));
        }

        InitPruneData? data = null;
        foreach (string method in _settings.Methods)
        {
            int iterations = _settings.IterationsFor(method);
            string methodDir = Path.Combine(dir, iterations == InitPruner.DefaultIterations(method) ? $"init_{method}" : $"init_{method}_x{iterations}");
            foreach (double sparsity in _settings.Sparsities.Where(s => s > 0))
            {
                int level = LevelOf(sparsity);
                string sparsityDir = Path.Combine(methodDir, string.Create(CultureInfo.InvariantCulture, $"sparsity_{sparsity:F3}"));
                var maskPath = Path.Combine(sparsityDir, "mask.safetensors");
                MaskSet Mask(bool invert)
                {
                    data ??= Data(context, seed);
                    var pruned = InitPruner.Prune(method, model, layers, sparsity, iterations, data, LotteryExperiment.DeriveSeed(seed, 7000 + (ulong)level), invert);
                    if (!invert)
                    {
                        // The inverted ranking is the sanity check's deliberately bad mask: emptying a layer is an
                        // expected outcome there, not a mistake in the settings.
                        _config.CheckNoEmptyLayer(pruned, $"{method} at sparsity {sparsity.ToString(CultureInfo.InvariantCulture)}");
                    }

                    return pruned;
                }

                // The method's mask is kept beside its units, so resuming never has to score again.
                MaskSet mask;
                if (File.Exists(maskPath))
                {
                    mask = MaskSet.Load(maskPath, layers);
                }
                else
                {
                    mask = Mask(invert: false);
                    Directory.CreateDirectory(sparsityDir);
                    mask.Save(maskPath);
                }

                // The method's unit checks its own mask against this one, so a changed sparsity mask is refused.
                context.RunUnit(Path.Combine(sparsityDir, method), method, replicate, level, seed, theta0, mask, counter, null, cancellation, dataSeed: _config.DataSeedOf(replicate));
                foreach (string check in _settings.SanityChecks)
                {
                    if (check == "invert" && method == "random")
                    {
                        continue;
                    }

                    string branch = PruneAtInitSettings.SanityBranch(method, check);
                    string unitDir = Path.Combine(sparsityDir, branch);
                    if (File.Exists(Path.Combine(unitDir, "result.json")))
                    {
                        // Found finished: its files are checked against its result; its mask is not recomputed
                        // (an inverted mask would mean scoring again).
                        context.RunUnit(unitDir, branch, replicate, level, seed, theta0, mask, counter, null, cancellation, maskIsExpected: false, dataSeed: _config.DataSeedOf(replicate));
                        continue;
                    }

                    var (start, checkMask) = check switch
                    {
                        "shuffle" => (theta0, RandomMasks.Shuffle(mask, LotteryExperiment.DeriveSeed(seed, 6000 + (ulong)level))),
                        "reinit" => (ExperimentContext.Snapshot(context.CreateModel(LotteryExperiment.DeriveSeed(seed, 5000 + (ulong)level))), mask),
                        _ => (theta0, Mask(invert: true)),
                    };
                    context.RunUnit(unitDir, branch, replicate, level, seed, start, checkMask, counter, null, cancellation, dataSeed: _config.DataSeedOf(replicate));
                }
            }
        }
    }

    // SNIP's batch and GraSP's examples come from the replicate's shuffled training order.
    private InitPruneData Data(ExperimentContext context, ulong seed)
    {
        var train = context.Train;
        var order = new BatchSampler(train.Count, train.Count, shuffle: true, seed).Order(0).ToArray();
        var snip = order.Take(Math.Min(_settings.SnipBatch, train.Count)).ToArray();

        // GraSP takes the first examples of each class and stacks them class by class; its two parts are the
        // first and the second half of that stack, as in the authors' code.
        var perClass = Enumerable.Range(0, train.NumClasses).Select(c => order.Where(i => train.Labels[i] == c).Take(_settings.GraspPerClass)).SelectMany(x => x).ToArray();
        int half = perClass.Length / 2;
        return new InitPruneData(
            Inputs(train, snip, context.Device),
            snip.Select(i => train.Labels[i]).ToArray(),
            [(Inputs(train, perClass[..half], context.Device), perClass[..half].Select(i => train.Labels[i]).ToArray()), (Inputs(train, perClass[half..], context.Device), perClass[half..].Select(i => train.Labels[i]).ToArray())],
            train.FeatureShape);
    }

    private static Tensor Inputs(Dataset data, int[] indices, Engine.Devices.Device device)
    {
        var x = new float[indices.Length * data.FeatureSize];
        for (int i = 0; i < indices.Length; i++)
        {
            data.Example(indices[i]).CopyTo(x.AsSpan(i * data.FeatureSize));
        }

        return Tensor.FromArray(x, [indices.Length, .. data.FeatureShape], device);
    }
}
