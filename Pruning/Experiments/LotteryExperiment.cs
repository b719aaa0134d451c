using System.Globalization;
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

    /// <summary>The run directory of <paramref name="config"/> under <paramref name="root"/>: <c>root/lottery-HASH</c>.</summary>
    public static string DirectoryFor(LotteryConfig config, string root)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Path.Combine(root, $"lottery-{config.Hash()}");
    }

    /// <summary>Units (trainings) in an experiment of <paramref name="replicates"/> replicates.</summary>
    public int UnitCount(int replicates) => replicates * (_config.Levels + (Enumerable.Range(0, _config.Levels).Count(_config.RunsBranchesAt) * _config.Branches.Count));

    /// <summary>Runs (or resumes) every unit of <paramref name="replicates"/> replicates, then writes and returns the summary.</summary>
    public ExperimentSummary Run(int replicates, Action<ExperimentProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (replicates < 1)
        {
            throw new ArgumentException($"replicates must be ≥ 1, got {replicates}");
        }

        Directory.CreateDirectory(RunDirectory);

        // A run killed in the middle of a write leaves a temporary file beside the one it was writing.
        AtomicFile.RemoveLeftovers(RunDirectory);
        AtomicFile.WriteAllText(Path.Combine(RunDirectory, "hyperparameters.json"), _config.ToJson());
        _context = new ExperimentContext(_config.Recipe, _config.EvalEvery, _config.RewindIteration, _config.Seed);
        int iterations = _config.Recipe.Epochs * (int)(((long)_context.Train.Count + _config.Recipe.BatchSize - 1) / _config.Recipe.BatchSize);
        if (_config.RewindIteration > iterations)
        {
            throw new ArgumentException($"rewind iteration {_config.RewindIteration} is past the end of training ({iterations} iterations per level)");
        }

        var counter = new UnitCounter(UnitCount(replicates), progress);
        for (int r = 0; r < replicates; r++)
        {
            RunReplicate(r, counter, cancellation);
        }

        var summary = Summarize(RunDirectory);
        AtomicFile.WriteAllText(Path.Combine(RunDirectory, "summary.json"), summary.ToJson());
        return summary;
    }

    /// <summary>Averages every finished unit found under <paramref name="runDirectory"/> by branch and level.</summary>
    public static ExperimentSummary Summarize(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"run directory '{runDirectory}' does not exist");
        }

        var results = Directory.GetDirectories(runDirectory, "replicate_*")
            .SelectMany(d => Directory.GetFiles(d, "result.json", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .Select(UnitResult.Load)
            .ToList();
        if (results.Count == 0)
        {
            throw new InvalidDataException($"'{runDirectory}' holds no finished levels (no replicate_*/level_*/*/result.json)");
        }

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
        var (acc, accStd) = MeanStd(u.Select(x => x.TestAccuracy));
        var (es, esStd) = MeanStd(u.Select(x => (double)x.EarlyStopIteration));
        var (esAcc, esAccStd) = MeanStd(u.Select(x => x.EarlyStopTestAccuracy));
        return new LevelPoint(level.Key, u.Average(x => x.WeightsRemaining), acc, accStd, es, esStd, esAcc, esAccStd, u.Count);
    }

    private static (double Mean, double Std) MeanStd(IEnumerable<double> values)
    {
        var v = values.ToList();
        double mean = v.Average();
        double std = v.Count < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1));
        return (mean, std);
    }

    private void RunReplicate(int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Seed + (ulong)replicate;
        string dir = Path.Combine(RunDirectory, $"replicate_{replicate}");
        var context = _context!;
        var model = context.CreateModel(seed);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        var theta0 = ExperimentContext.Snapshot(model);
        var start = theta0;
        var mask = MaskSet.Dense(layers);
        string rewindPath = Path.Combine(dir, "rewind.safetensors");
        for (int level = 0; level < _config.Levels; level++)
        {
            string unitDir = LevelDirectory(dir, level, LotteryBranch);
            if (level > 0)
            {
                mask = NextMask(dir, level, mask, layers);
            }

            context.RunUnit(unitDir, LotteryBranch, replicate, level, seed, start, mask, counter, level == 0 && _config.RewindIteration > 0 ? rewindPath : null, cancellation);
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
                context.RunUnit(LevelDirectory(dir, level, branch), branch, replicate, level, seed, branchStart, branchMask, counter, rewindPath: null, cancellation);
            }
        }
    }

    // The mask of a level: read back if that level already started, else pruned from the previous level's final weights.
    private MaskSet NextMask(string dir, int level, MaskSet previous, IReadOnlyList<(string Name, Parameter Parameter)> layers)
    {
        string saved = Path.Combine(LevelDirectory(dir, level, LotteryBranch), "mask.safetensors");
        if (File.Exists(saved))
        {
            return MaskSet.Load(saved, layers.Select(l => l.Name));
        }

        var final = SafeTensors.Read(Path.Combine(LevelDirectory(dir, level - 1, LotteryBranch), "final.safetensors")).Tensors;
        var scores = layers.ToDictionary(l => l.Name, l => final[l.Name].Data.Select(MathF.Abs).ToArray(), StringComparer.Ordinal);
        if (_config.Global)
        {
            return MagnitudePruner.Global(previous, scores, _config.PruneRate);
        }

        string output = layers[^1].Name;
        return MagnitudePruner.Layerwise(previous, scores, name => name == output ? _config.OutputPruneRate : _config.PruneRate);
    }

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
