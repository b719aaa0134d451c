using System.Globalization;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Iterative magnitude pruning (Frankle and Carbin 2019): levels of train → prune → reset to θ₀ (or
/// rewind to θₖ), with baseline branches at every pruned level. Every (replicate, level, branch) unit
/// lives in its own folder and ends by writing <c>result.json</c>; a unit with that file is done and is
/// skipped when the same experiment runs again, so an interrupted run resumes where it stopped and ends
/// with the same bytes as an uninterrupted one (training is deterministic and writes are atomic).
/// </summary>
public sealed class LotteryExperiment
{
    /// <summary>Name of the lottery-ticket branch.</summary>
    public const string LotteryBranch = "lottery";

    private readonly LotteryConfig _config;
    private ExperimentContext? _context;
    private TransferExperiment? _transfer;

    /// <summary>Prepares an experiment stored under <paramref name="runDirectory"/>.</summary>
    public LotteryExperiment(LotteryConfig config, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        RunDirectory = runDirectory;
    }

    /// <summary>Where the experiment's files live.</summary>
    public string RunDirectory { get; }

    /// <summary>
    /// Tickets of another run to train here beside this experiment's own levels (see <see cref="TransferSettings"/>);
    /// null for none. Setting it opens the source and refuses one of another model, initialisation, rewind
    /// iteration or set of unpruned layers.
    /// </summary>
    public TransferSettings? Transfer
    {
        get => _transfer?.Settings;
        init => _transfer = value is null ? null : new TransferExperiment(value, _config, RunDirectory);
    }

    /// <summary>The source levels <see cref="Transfer"/> trains here (its own, or every pruned level the source's replicate 0 finished); empty without a transfer.</summary>
    public IReadOnlyList<int> TransferLevels => _transfer?.Levels ?? [];

    /// <summary>
    /// The run directory of <paramref name="config"/> under <paramref name="root"/>: <c>root/lottery-HASH</c>, where
    /// the hash covers the settings that change the numbers, the data's content and <see cref="ResultsFormat.Version"/>.
    /// </summary>
    public static string DirectoryFor(LotteryConfig config, string root)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Path.Combine(root, $"lottery-{config.Hash(DatasetCatalog.Fingerprint(config.Recipe.Data))}");
    }

    /// <summary>Units (trainings) in an experiment of <paramref name="replicates"/> replicates (those of <paramref name="shard"/>, if given).</summary>
    public int UnitCount(int replicates, Shard? shard = null)
    {
        int mine = (shard ?? Shard.All).Replicates(replicates).Count();
        return (mine * (_config.Levels + (Enumerable.Range(0, _config.Levels).Count(_config.RunsBranchesAt) * _config.Branches.Count))) + (_transfer?.UnitCount(mine) ?? 0);
    }

    /// <summary>
    /// Runs (or resumes) every unit of <paramref name="replicates"/> replicates, then writes and returns the summary.
    /// The plan is checked against the data before anything is trained (every pruned layer keeps a weight at the
    /// last level); the run directory is locked against other processes while the experiment runs.
    /// </summary>
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

        var start = ExperimentStart.Open(_config, RunDirectory, "sparsenet lottery", context =>
        {
            ValidatePlan(context);
            _transfer?.Validate(context, mine.Replicates(replicates));
        }, cancellation);
        _context = start.Context;
        if (_transfer is { } transfer)
        {
            _ = start.UnderRunLock(() =>
            {
                transfer.Record(start.Context, mine.Replicates(replicates));
                return 0;
            });
        }

        var counter = new UnitCounter(UnitCount(replicates, mine), progress);
        foreach (int r in mine.Replicates(replicates))
        {
            using (start.Replicate(r))
            {
                RunReplicate(r, counter, cancellation);
                _transfer?.RunReplicate(start.Context, r, counter, cancellation);
            }
        }

        return start.WriteSummary();
    }

    // Everything that would fail or destroy the experiment part-way is refused before the first training.
    private void ValidatePlan(ExperimentContext context)
    {
        int iterations = context.IterationsPerUnit;
        if (_config.RewindIteration > iterations)
        {
            throw new SettingsException($"rewind iteration {_config.RewindIteration} is past the end of training ({iterations} iterations per level)");
        }

        var model = context.CreateModel(_config.Seed);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        if (_config.Levels > 1 && layers.Count == 0)
        {
            throw new SettingsException($"--exclude {string.Join(",", _config.Exclude)} leaves no layer to prune; {_config.Levels - 1} pruning levels need at least one");
        }

        int last = _config.Levels - 1;

        // The first level at which pruning n weights at rate p per level (as MagnitudePruner counts) leaves none, or 0.
        int EmptiedAt(long n, double rate)
        {
            for (int level = 1; level <= last; level++)
            {
                n -= MagnitudePruner.CountToPrune(n, rate);
                if (n < 1)
                {
                    return level;
                }
            }

            return 0;
        }

        if (_config.Global)
        {
            long total = layers.Sum(l => (long)l.Parameter.Size);
            if (EmptiedAt(total, _config.PruneRate) is > 0 and int level)
            {
                throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"global pruning at {_config.PruneRate:R} per level leaves none of the {total} prunable weights at level {level} of {last}; lower --prune-rate or the number of levels"));
            }

            return;
        }

        var kinds = LayerKinds(model);
        foreach (var (name, parameter) in layers)
        {
            var (rate, option) = _config.LayerRate(kinds[name], name == layers[^1].Name);
            if (EmptiedAt(parameter.Size, rate) is > 0 and int level)
            {
                throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"pruning {name} at {rate:R} per level leaves none of its {parameter.Size} weights at level {level} of {last}; lower {option} or the number of levels, or --exclude {PrunableLayers.LayerName(name)}"));
            }
        }
    }

    /// <summary>
    /// Every finished unit's result under <paramref name="runDirectory"/>, in path order (read as reports do, without
    /// verifying files); a directory with none is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static IReadOnlyList<UnitResult> Results(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"run directory '{runDirectory}' does not exist");
        }

        var results = Directory.GetDirectories(runDirectory, "replicate_*")
            .SelectMany(d => Directory.GetFiles(d, "result.json", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .Select(path => UnitResult.Load(path, verify: false))
            .ToList();
        return results.Count > 0
            ? results
            : throw new InvalidDataException($"'{runDirectory}' holds no finished levels (no replicate_*/level_*/*/result.json)");
    }

    /// <summary>Averages every finished unit found under <paramref name="runDirectory"/> by branch and level.</summary>
    public static ExperimentSummary Summarize(string runDirectory) => Summarize(Results(runDirectory));

    /// <summary>Averages <paramref name="results"/> (as <see cref="Results"/> reads them) by branch and level.</summary>
    public static ExperimentSummary Summarize(IReadOnlyList<UnitResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);

        // IMP's baselines start from the dense network, which is the lottery branch's level 0.
        var dense = results.Where(u => u.Branch == LotteryBranch && u.Level == 0).ToList();
        var branches = new Dictionary<string, IReadOnlyList<LevelPoint>>(StringComparer.Ordinal);
        foreach (var group in results.GroupBy(u => u.Branch))
        {
            bool impBaseline = LotteryConfig.KnownBranches.Contains(group.Key);
            var units = impBaseline ? dense.Concat(group).ToList() : group.ToList();
            branches[group.Key] = units.GroupBy(u => u.Level).OrderBy(g => g.Key).Select(Point).ToList();
        }

        return new ExperimentSummary(branches);
    }

    private static LevelPoint Point(IGrouping<int, UnitResult> level)
    {
        var u = level.ToList();
        var (acc, accStd) = SampleStatistics.MeanStd(u.Select(x => x.TestAccuracy));
        var (es, esStd) = SampleStatistics.MeanStd(u.Select(x => (double)x.EarlyStopIteration));
        var (esAcc, esAccStd) = SampleStatistics.MeanStd(u.Select(x => x.EarlyStopTestAccuracy));
        return new LevelPoint(level.Key, u.Average(x => x.WeightsRemaining), acc, accStd, es, esStd, esAcc, esAccStd, u.Count, u.Count(x => x.Outcome == UnitResult.Diverged), u.Count(x => x.Outcome == UnitResult.AtChance));
    }


    private void RunReplicate(int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Seed + (ulong)replicate;
        string dir = Path.Combine(RunDirectory, $"replicate_{replicate}");
        var context = _context!;
        var model = context.CreateModel(seed);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        var kinds = LayerKinds(model);
        var theta0 = ExperimentContext.Snapshot(model);
        var start = theta0;
        var mask = MaskSet.Dense(layers);
        string rewindPath = Path.Combine(dir, "rewind.safetensors");
        for (int level = 0; level < _config.Levels; level++)
        {
            string unitDir = LevelDirectory(dir, level, LotteryBranch);
            if (level > 0)
            {
                mask = NextMask(dir, level, mask, layers, kinds);
            }

            // The dense level trains 0 … T (saving θₖ on the way); later levels train k … T from θₖ.
            ulong dataSeed = _config.DataSeedOf(replicate);
            int from = level == 0 ? 0 : _config.RewindIteration;
            context.RunUnit(unitDir, LotteryBranch, replicate, level, seed, start, mask, counter, level == 0 && _config.RewindIteration > 0 ? new Dictionary<int, string> { [_config.RewindIteration] = rewindPath } : null, cancellation, dataSeed: dataSeed, startIteration: from);
            if (level == 0 && _config.RewindIteration > 0)
            {
                start = SafeTensors.Read(rewindPath).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            }

            if (!_config.RunsBranchesAt(level))
            {
                continue;
            }

            foreach (string branch in _config.Branches)
            {
                var (branchStart, branchMask) = branch switch
                {
                    "random_reinit" => (ExperimentContext.Snapshot(context.CreateModel(DeriveSeed(seed, 1000 + (ulong)level))), mask),
                    "random_prune" => (start, RandomMasks.SameDensity(mask, DeriveSeed(seed, 2000 + (ulong)level))),
                    "shuffle" => (start, RandomMasks.Shuffle(mask, DeriveSeed(seed, 3000 + (ulong)level))),
                    _ => throw new InvalidOperationException($"unknown branch '{branch}'"),
                };
                context.RunUnit(LevelDirectory(dir, level, branch), branch, replicate, level, seed, branchStart, branchMask, counter, saveAt: null, cancellation, dataSeed: dataSeed, startIteration: from);
            }
        }
    }

    // The mask of a level, pruned from the previous level's final weights (already verified when that level was
    // found finished). It is computed, never read back, so a changed mask file cannot steer the pruning; a finished
    // level's stored mask is then checked against it.
    private MaskSet NextMask(string dir, int level, MaskSet previous, IReadOnlyList<(string Name, Parameter Parameter)> layers, Dictionary<string, LayerKind> kinds)
    {
        var final = SafeTensors.Read(Path.Combine(LevelDirectory(dir, level - 1, LotteryBranch), "final.safetensors")).Tensors;

        // A weight that is no longer a number (a diverged level) counts as large: its training pushed it hardest.
        var scores = layers.ToDictionary(l => l.Name, l => final[l.Name].Data.Select(v => float.IsNaN(v) ? float.PositiveInfinity : MathF.Abs(v)).ToArray(), StringComparer.Ordinal);
        if (_config.Global)
        {
            var next = MagnitudePruner.Global(previous, scores, _config.PruneRate);
            _config.CheckNoEmptyLayer(next, string.Create(CultureInfo.InvariantCulture, $"global pruning at level {level}"));
            return next;
        }

        return MagnitudePruner.Layerwise(previous, scores, name => _config.LayerRate(kinds[name], name == layers[^1].Name).Rate);
    }

    // Layerwise pruning gives convolutions, fully connected layers and the output layer (the last prunable one) rates of their own.
    private static Dictionary<string, LayerKind> LayerKinds(Module model) =>
        PrunableLayers.Kinds(model).ToDictionary(l => l.Name, l => l.Kind, StringComparer.Ordinal);

    private static string LevelDirectory(string replicateDir, int level, string branch) =>
        Path.Combine(replicateDir, string.Create(CultureInfo.InvariantCulture, $"level_{level:D2}"), branch);

    /// <summary>A seed for one purpose (a branch at a level) derived from a replicate's seed by SplitMix64 mixing.</summary>
    internal static ulong DeriveSeed(ulong seed, ulong purpose)
    {
        ulong z = seed + (purpose * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
