using System.Diagnostics;
using System.Globalization;
using System.Text;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// A supermask experiment (Ramanujan et al. 2020): per replicate, the network is drawn once and its weights are
/// frozen; the <c>supermask</c> unit trains a score per weight by edge-popup (<see cref="EdgePopup"/>), and the
/// <c>random_mask</c> unit evaluates a random mask of the same per-layer density on the same weights, never trained.
/// Both are units of the run store, so an interrupted run resumes where it stopped and a finished unit is checked,
/// not trained again.
/// </summary>
/// <remarks>
/// Folders: <c>replicate_r/supermask</c> (<c>init.safetensors</c>: the frozen weights; <c>scores.safetensors</c>: the
/// trained scores; <c>mask.safetensors</c>: the final supermask; <c>final.safetensors</c>: the weights times the mask;
/// <c>metrics.jsonl</c>) and <c>replicate_r/random_mask</c> (the same files but scores, with one metrics line).
/// Replicate r draws its weights and scores from seed + r and its batches from the data seed + r.
/// </remarks>
public sealed class SupermaskExperiment
{
    /// <summary>Branch of the learned supermask.</summary>
    public const string SupermaskBranch = "supermask";

    /// <summary>Branch of the random mask of the same density on the same frozen weights.</summary>
    public const string RandomMaskBranch = "random_mask";

    private readonly SupermaskConfig _config;

    /// <summary>Prepares an experiment stored under <paramref name="runDirectory"/>.</summary>
    public SupermaskExperiment(SupermaskConfig config, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        RunDirectory = runDirectory;
    }

    /// <summary>Where the experiment's files live.</summary>
    public string RunDirectory { get; }

    /// <summary>The run directory of <paramref name="config"/> under <paramref name="root"/>: <c>root/supermask-HASH</c>.</summary>
    public static string DirectoryFor(SupermaskConfig config, string root)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Path.Combine(root, $"supermask-{config.Hash(DatasetCatalog.Fingerprint(config.Training.Recipe.Data))}");
    }

    /// <summary>Units of <paramref name="replicates"/> replicates: a supermask and a random mask each.</summary>
    public static int UnitCount(int replicates, Shard? shard = null) => (shard ?? Shard.All).Replicates(replicates).Count() * 2;

    /// <summary>
    /// The network of <paramref name="seed"/> with the frozen random weights of <paramref name="weights"/>: Kaiming normal
    /// draws, made signed constant when asked. Biases are zero.
    /// </summary>
    public static Module FrozenNetwork(string model, int[] inputShape, int classes, SupermaskWeights weights, ulong seed)
    {
        var network = ModelZoo.Create(model, inputShape, classes, InitScheme.KaimingNormal, seed);
        if (weights == SupermaskWeights.SignedConstant)
        {
            EdgePopup.MakeSignedConstant(network);
        }

        return network;
    }

    /// <summary>
    /// Runs (or resumes) every unit of <paramref name="replicates"/> replicates, writes <c>summary.json</c> (of every unit
    /// finished so far, by any process; not by a shard without a replicate) and returns the results of this shard's units.
    /// </summary>
    /// <param name="replicates">Replicates (seeds seed, seed+1, ...).</param>
    /// <param name="progress">Called on every iteration and finished unit.</param>
    /// <param name="shard">Which of several processes this is; it runs only its replicates.</param>
    /// <param name="cancellation">Stops the run between iterations (finished units are kept).</param>
    public IReadOnlyList<UnitResult> Run(int replicates, Action<ExperimentProgress>? progress = null, Shard? shard = null, CancellationToken cancellation = default)
    {
        var mine = shard ?? Shard.All;
        if (replicates < 1)
        {
            throw new SettingsException($"replicates must be ≥ 1, got {replicates}");
        }

        var start = ExperimentStart.Open(_config.Training, RunDirectory, "sparsenet supermask", ValidatePlan, cancellation, _config.HyperparametersJson);
        var counter = new UnitCounter(UnitCount(replicates, mine), progress);
        var results = new List<UnitResult>();
        foreach (int r in mine.Replicates(replicates))
        {
            using (start.Replicate(r))
            {
                string dir = Path.Combine(RunDirectory, $"replicate_{r}");
                results.Add(RandomMaskUnit(start.Context, Path.Combine(dir, RandomMaskBranch), r, counter, cancellation));
                results.Add(SupermaskUnit(start.Context, Path.Combine(dir, SupermaskBranch), r, counter, cancellation));
            }
        }

        if (results.Count > 0)
        {
            start.UnderRunLock(() =>
            {
                AtomicFile.WriteAllText(Path.Combine(RunDirectory, "summary.json"), SupermaskSummary.Read(RunDirectory).ToJson());
                return 0;
            });
        }

        return results;
    }

    // Every layer must keep at least one weight at the density asked for.
    private void ValidatePlan(ExperimentContext context)
    {
        var model = context.CreateModel(_config.Training.Seed);
        foreach (var (name, weight) in PrunableLayers.Find(model))
        {
            if (TopKMask.KeptCount(weight.Size, _config.Density) == 0)
            {
                throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"density {_config.Density} keeps no weight of {name} ({weight.Size} weights); raise the density"));
            }
        }
    }

    private Module Network(ExperimentContext context, ulong seed) =>
        FrozenNetwork(_config.Training.Recipe.Model, context.Train.FeatureShape, context.Train.NumClasses, _config.Weights, seed);

    private UnitResult RandomMaskUnit(ExperimentContext context, string dir, int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Training.Seed + (ulong)replicate;
        var model = Network(context, seed);
        var mask = RandomMasks.Uniform(MaskSet.Dense(PrunableLayers.Find(model)), _config.Density, LotteryExperiment.DeriveSeed(seed, 9001));
        string resultPath = Path.Combine(dir, "result.json");
        if (File.Exists(resultPath))
        {
            return Finished(dir, resultPath, RandomMaskBranch, replicate, mask, counter);
        }

        cancellation.ThrowIfCancellationRequested();
        Directory.CreateDirectory(dir);
        var clock = Stopwatch.StartNew();
        Checkpoint.Save(Path.Combine(dir, "init.safetensors"), model);
        mask.Apply(model);
        mask.Save(Path.Combine(dir, "mask.safetensors"));
        Checkpoint.Save(Path.Combine(dir, "final.safetensors"), model);
        var validation = Trainer.Evaluate(model, context.Validation);
        var test = Trainer.Evaluate(model, context.Test);
        AtomicFile.WriteAllText(Path.Combine(dir, "metrics.jsonl"), ExperimentContext.MetricsLine(0, validation, test));
        var result = Result(RandomMaskBranch, replicate, mask, 0, test, context.Test, (0, validation.Loss, test.Accuracy), null, dir, ["mask.safetensors", "init.safetensors", "final.safetensors", "metrics.jsonl"]);
        return Store(dir, result, clock, counter);
    }

    private UnitResult SupermaskUnit(ExperimentContext context, string dir, int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        string resultPath = Path.Combine(dir, "result.json");
        if (File.Exists(resultPath))
        {
            return Finished(dir, resultPath, SupermaskBranch, replicate, null, counter);
        }

        cancellation.ThrowIfCancellationRequested();
        Directory.CreateDirectory(dir);
        var clock = Stopwatch.StartNew();
        ulong seed = _config.Training.Seed + (ulong)replicate;
        var recipe = _config.Training.Recipe;
        var model = Network(context, seed);
        Checkpoint.Save(Path.Combine(dir, "init.safetensors"), model);
        var popup = new EdgePopup(model, _config.Density, scores => ScoreOptimizer(recipe, scores), seed);
        var trainer = new Trainer(model, popup, recipe.CreateSchedule(recipe.IterationsPerEpoch(context.Train.Count)), context.Train, recipe.BatchSize, _config.Training.DataSeedOf(replicate)) { Augmentation = context.Augmentation };
        int total = _config.Iterations ?? context.IterationsPerUnit;

        var metrics = new StringBuilder();
        var best = (Iteration: 0, ValLoss: double.PositiveInfinity, TestAccuracy: double.NaN);
        EvalResult lastTest = default;
        int lastEvaluated = -1;
        void Evaluate(int iteration)
        {
            var validation = Trainer.Evaluate(model, context.Validation);
            lastTest = Trainer.Evaluate(model, context.Test);
            lastEvaluated = iteration;
            metrics.Append(ExperimentContext.MetricsLine(iteration, validation, lastTest));
            if (validation.Loss < best.ValLoss || double.IsNaN(best.TestAccuracy))
            {
                best = (iteration, double.IsNaN(validation.Loss) ? double.PositiveInfinity : validation.Loss, lastTest.Accuracy);
            }
        }

        Evaluate(0);
        trainer.TrainTo(total, p =>
        {
            cancellation.ThrowIfCancellationRequested();
            if (p.Iteration % _config.Training.EvalEvery == 0 || p.Iteration == total)
            {
                Evaluate(p.Iteration);
            }

            counter.Report(replicate, 0, SupermaskBranch, p.Iteration, total);
        });

        cancellation.ThrowIfCancellationRequested();
        if (trainer.Divergence is not null && lastEvaluated != trainer.Iteration)
        {
            Evaluate(trainer.Iteration);
        }

        var mask = popup.Mask();
        mask.Save(Path.Combine(dir, "mask.safetensors"));
        SafeTensors.Write(Path.Combine(dir, "scores.safetensors"), popup.Scores.ToDictionary(s => s.Name, s => new SafeTensor((int[])s.Scores.Shape.Clone(), s.Scores.Value.ToArray()), StringComparer.Ordinal));
        Checkpoint.Save(Path.Combine(dir, "final.safetensors"), model);
        AtomicFile.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metrics.ToString());
        var result = Result(SupermaskBranch, replicate, mask, trainer.Iteration, lastTest, context.Test, (best.Iteration, best.ValLoss, best.TestAccuracy), trainer.Divergence, dir, ["mask.safetensors", "init.safetensors", "scores.safetensors", "final.safetensors", "metrics.jsonl"]);
        return Store(dir, result, clock, counter);
    }

    /// <summary>The optimizer of the scores that <paramref name="recipe"/> names (its learning rate is set by the schedule).</summary>
    internal static Optimizer ScoreOptimizer(TrainingRecipe recipe, IReadOnlyList<Parameter> scores) => recipe.Optimizer switch
    {
        "adam" => new Adam(scores, recipe.LearningRate, weightDecay: recipe.WeightDecay),
        "sgd" => new Sgd(scores, recipe.LearningRate, recipe.Momentum, recipe.Nesterov, recipe.WeightDecay),
        _ => throw new SettingsException($"unknown optimizer '{recipe.Optimizer}'; choose adam or sgd"),
    };

    private static UnitResult Finished(string dir, string resultPath, string branch, int replicate, MaskSet? expectedMask, UnitCounter counter)
    {
        var done = ExperimentContext.Verify(dir, resultPath, branch, replicate, 0, expectedMask);
        counter.Finish();
        return done;
    }

    private static UnitResult Result(string branch, int replicate, MaskSet mask, int iterations, EvalResult test, Dataset testSet, (int Iteration, double ValLoss, double TestAccuracy) best, Divergence? divergence, string dir, IReadOnlyList<string> files)
    {
        string outcome = divergence is not null ? UnitResult.Diverged : ChanceLevel.IsAtChance(test.Accuracy, testSet) ? UnitResult.AtChance : UnitResult.Trained;
        return new UnitResult(branch, replicate, 0, mask.Density, mask.Densities(), iterations, test.Accuracy, test.Loss, best.Iteration, double.IsPositiveInfinity(best.ValLoss) || double.IsNaN(best.ValLoss) ? double.NaN : best.ValLoss, best.TestAccuracy)
        {
            Outcome = outcome,
            DivergedAtIteration = divergence?.Iteration ?? 0,
            LastFiniteLoss = divergence?.LastFiniteLoss is { } l ? l : double.NaN,
            Files = files.Select(f => UnitFile.Of(dir, f)).ToList(),
        };
    }

    private static UnitResult Store(string dir, UnitResult result, Stopwatch clock, UnitCounter counter)
    {
        // As ExperimentContext.RunUnit: the time lives outside the checked files, and result.json is written last.
        UnitTime.Write(dir, clock.Elapsed.TotalSeconds);
        AtomicFile.WriteAllText(Path.Combine(dir, "result.json"), result.ToJson());
        counter.Finish();
        return result;
    }
}
