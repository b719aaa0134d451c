using System.Globalization;
using System.Text;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
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
    private Dataset? _train, _validation, _test;

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
        AtomicFile.WriteAllText(Path.Combine(RunDirectory, "hyperparameters.json"), _config.ToJson());
        var (train, test) = DatasetCatalog.Load(_config.Recipe.Data);
        if (_config.Recipe.ValidationSize >= train.Count)
        {
            throw new ArgumentException($"validation size {_config.Recipe.ValidationSize} must be smaller than the {train.Count} training examples");
        }

        (_train, _validation) = train.Split(_config.Recipe.ValidationSize, _config.Seed);
        _test = test;
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

        // Every branch starts from the dense network, which is the lottery branch's level 0.
        var dense = results.Where(u => u.Branch == LotteryBranch && u.Level == 0).ToList();
        var branches = new Dictionary<string, IReadOnlyList<LevelPoint>>(StringComparer.Ordinal);
        foreach (var group in results.GroupBy(u => u.Branch))
        {
            var units = group.Key == LotteryBranch ? group.ToList() : dense.Concat(group).ToList();
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
        var model = CreateModel(seed);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        var theta0 = Snapshot(model);
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

            RunUnit(unitDir, LotteryBranch, replicate, level, seed, start, mask, counter, level == 0 && _config.RewindIteration > 0 ? rewindPath : null, cancellation);
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
                    "random_reinit" => (Snapshot(CreateModel(DeriveSeed(seed, 1000 + (ulong)level))), mask),
                    "random_prune" => (start, RandomMasks.SameDensity(mask, DeriveSeed(seed, 2000 + (ulong)level))),
                    "shuffle" => (start, RandomMasks.Shuffle(mask, DeriveSeed(seed, 3000 + (ulong)level))),
                    _ => throw new InvalidOperationException($"unknown branch '{branch}'"),
                };
                RunUnit(LevelDirectory(dir, level, branch), branch, replicate, level, seed, branchStart, branchMask, counter, rewindPath: null, cancellation);
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

    private UnitResult RunUnit(string dir, string branch, int replicate, int level, ulong seed, IReadOnlyDictionary<string, SafeTensor> start, MaskSet mask, UnitCounter counter, string? rewindPath, CancellationToken cancellation)
    {
        string resultPath = Path.Combine(dir, "result.json");
        if (File.Exists(resultPath))
        {
            counter.Finish();
            return UnitResult.Load(resultPath);
        }

        Directory.CreateDirectory(dir);
        var recipe = _config.Recipe;
        var model = CreateModel(seed);
        model.LoadStateDict(start.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal));
        mask.Apply(model);
        mask.Save(Path.Combine(dir, "mask.safetensors"));
        Checkpoint.Save(Path.Combine(dir, "init.safetensors"), model);

        var trainer = new Trainer(model, recipe.CreateOptimizer(model), recipe.CreateSchedule(), _train!, recipe.BatchSize, seed);
        int total = recipe.Epochs * trainer.IterationsPerEpoch;
        var metrics = new StringBuilder();
        var best = (Iteration: 0, ValLoss: double.PositiveInfinity, TestAccuracy: 0.0);
        EvalResult lastTest = default;
        void Evaluate(int iteration)
        {
            var val = Trainer.Evaluate(model, _validation!);
            lastTest = Trainer.Evaluate(model, _test!);
            metrics.Append(CultureInfo.InvariantCulture, $"{{\"iteration\": {iteration}, \"validation_loss\": {val.Loss:R}, \"validation_accuracy\": {val.Accuracy:R}, \"test_loss\": {lastTest.Loss:R}, \"test_accuracy\": {lastTest.Accuracy:R}}}\n");
            if (val.Loss < best.ValLoss)
            {
                best = (iteration, val.Loss, lastTest.Accuracy);
            }
        }

        Evaluate(0);
        for (int epoch = 0; epoch < recipe.Epochs; epoch++)
        {
            trainer.TrainEpoch(epoch, p =>
            {
                cancellation.ThrowIfCancellationRequested();
                if (rewindPath is not null && p.Iteration == _config.RewindIteration)
                {
                    Checkpoint.Save(rewindPath, model);
                }

                if (p.Iteration % _config.EvalEvery == 0 || p.Iteration == total)
                {
                    Evaluate(p.Iteration);
                }

                counter.Report(replicate, level, branch, p.Iteration, total);
            });
        }

        if (rewindPath is not null && !File.Exists(rewindPath))
        {
            throw new ArgumentException($"rewind iteration {_config.RewindIteration} is past the end of training ({total} iterations)");
        }

        Checkpoint.Save(Path.Combine(dir, "final.safetensors"), model);
        AtomicFile.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metrics.ToString());
        var result = new UnitResult(branch, replicate, level, mask.Density, mask.Densities(), total, lastTest.Accuracy, lastTest.Loss, best.Iteration, best.ValLoss, best.TestAccuracy);

        // Written last: its presence marks the unit as finished.
        AtomicFile.WriteAllText(resultPath, result.ToJson());
        counter.Finish();
        return result;
    }

    private Module CreateModel(ulong seed) =>
        ModelZoo.Create(_config.Recipe.Model, _train!.FeatureShape, _train.NumClasses, _config.Recipe.Init, seed);

    private static Dictionary<string, SafeTensor> Snapshot(Module model) =>
        model.StateDict().ToDictionary(kv => kv.Key, kv => new SafeTensor((int[])kv.Value.Shape.Clone(), kv.Value.ToArray()), StringComparer.Ordinal);

    private static string LevelDirectory(string replicateDir, int level, string branch) =>
        Path.Combine(replicateDir, string.Create(CultureInfo.InvariantCulture, $"level_{level:D2}"), branch);

    /// <summary>A seed for one purpose (a branch at a level) derived from a replicate's seed by SplitMix64 mixing.</summary>
    private static ulong DeriveSeed(ulong seed, ulong purpose)
    {
        ulong z = seed + (purpose * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private sealed class UnitCounter(int total, Action<ExperimentProgress>? progress)
    {
        private int _done;

        public void Report(int replicate, int level, string branch, int iteration, int iterations) =>
            progress?.Invoke(new ExperimentProgress(replicate, level, branch, iteration, iterations, _done, total));

        public void Finish()
        {
            _done++;
            progress?.Invoke(new ExperimentProgress(-1, -1, string.Empty, 0, 0, _done, total));
        }
    }
}
