using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// What every experiment unit shares: the data (with the validation split), the training recipe, and the
/// code that trains one unit and stores it so that a finished unit is never trained again.
/// </summary>
internal sealed class ExperimentContext
{
    private readonly TrainingRecipe _recipe;
    private readonly int _evalEvery;
    private readonly Engine.Devices.Device _device;

    /// <summary>
    /// Loads the recipe's data, holds out its validation set and (with <see cref="TrainingRecipe.TrainExamples"/>) keeps
    /// a fixed subset of the rest, both chosen by <paramref name="dataSeed"/>.
    /// </summary>
    public ExperimentContext(TrainingRecipe recipe, int evalEvery, ulong dataSeed, CancellationToken cancellation = default)
    {
        _recipe = recipe;
        _evalEvery = evalEvery;
        _device = recipe.ResolveDevice();
        var (train, test) = DatasetCatalog.Load(recipe.Data);
        cancellation.ThrowIfCancellationRequested();
        (train, Validation) = recipe.HoldOutValidation(train, dataSeed);
        Train = recipe.SelectTrainExamples(train, dataSeed);
        Augmentation = recipe.AugmentationFor(Train);
        Test = test;
    }

    /// <summary>Training examples (validation set removed; only the recipe's subset when it names one).</summary>
    public Dataset Train { get; }

    /// <summary>Augmentation of the training batches (see <see cref="TrainingRecipe.AugmentationFor"/>); null for none.</summary>
    public RandomCropFlip? Augmentation { get; }

    /// <summary>Held-out validation examples (early stopping).</summary>
    public Dataset Validation { get; }

    /// <summary>Test examples.</summary>
    public Dataset Test { get; }

    /// <summary>Iterations every unit trains.</summary>
    public int IterationsPerUnit => _recipe.Epochs * new BatchSampler(Train.Count, _recipe.BatchSize, shuffle: false, seed: 0).BatchesPerEpoch;

    /// <summary>The device the units train on.</summary>
    public Engine.Devices.Device Device => _device;

    /// <summary>A freshly initialised model of the recipe's architecture, on the recipe's device (initialised on the host).</summary>
    public Module CreateModel(ulong seed) => ModelZoo.Create(_recipe.Model, Train.FeatureShape, Train.NumClasses, _recipe.Init, seed).To(_device).UseSparse(_recipe.Sparse);

    /// <summary>A host copy of a model's state.</summary>
    public static Dictionary<string, SafeTensor> Snapshot(Module model) =>
        model.StateDict().ToDictionary(kv => kv.Key, kv => new SafeTensor((int[])kv.Value.Shape.Clone(), kv.Value.ToArray()), StringComparer.Ordinal);

    /// <summary>Loads a snapshot into a model.</summary>
    public static void Restore(Module model, IReadOnlyDictionary<string, SafeTensor> state) =>
        model.LoadStateDict(state.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal));

    /// <summary>
    /// Trains one unit from <paramref name="start"/> weights under <paramref name="mask"/> and stores mask,
    /// initial and final weights, metrics and (last) <c>result.json</c> in <paramref name="dir"/>. A unit whose
    /// result already exists is checked and read back instead: its result must be intact, every file it
    /// recorded must have the recorded length and hash, and (when <paramref name="maskIsExpected"/>) its mask
    /// must be <paramref name="mask"/>; otherwise <see cref="DamagedUnitException"/> names the file. With
    /// <paramref name="saveAt"/>, the weights after each of its iterations are saved to the path it maps it to.
    /// A training whose loss or weights stop being finite ends at that iteration and is recorded as diverged.
    /// </summary>
    /// <remarks>
    /// The batches are drawn with <paramref name="dataSeed"/> (default: <paramref name="seed"/>). A unit with
    /// <paramref name="startIteration"/> k &gt; 0 trains iterations k … T: the learning-rate schedule and the data order
    /// continue from iteration k, with a fresh optimizer state; it records T − k iterations. With
    /// <paramref name="endIteration"/>, training stops there instead of at T (the trunk of an instability run).
    /// </remarks>
    public UnitResult RunUnit(string dir, string branch, int replicate, int level, ulong seed, IReadOnlyDictionary<string, SafeTensor> start, MaskSet mask, UnitCounter counter, IReadOnlyDictionary<int, string>? saveAt, CancellationToken cancellation, bool maskIsExpected = true, ulong? dataSeed = null, int startIteration = 0, int? endIteration = null)
    {
        string resultPath = Path.Combine(dir, "result.json");
        if (File.Exists(resultPath))
        {
            var done = Verify(dir, resultPath, branch, replicate, level, maskIsExpected ? mask : null);
            counter.Finish();
            return done;
        }

        cancellation.ThrowIfCancellationRequested();
        Directory.CreateDirectory(dir);
        var recipe = _recipe;
        var model = CreateModel(seed);
        Restore(model, start);
        mask.Apply(model);
        mask.Save(Path.Combine(dir, "mask.safetensors"));
        Checkpoint.Save(Path.Combine(dir, "init.safetensors"), model);

        var trainer = new Trainer(model, recipe.CreateOptimizer(model), recipe.CreateSchedule(recipe.IterationsPerEpoch(Train.Count)), Train, recipe.BatchSize, dataSeed ?? seed) { Augmentation = Augmentation };
        int total = endIteration ?? (recipe.Epochs * trainer.IterationsPerEpoch);
        if (startIteration > total)
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"start iteration {startIteration} is past the end of training ({total} iterations)"));
        }

        trainer.StartAt(startIteration);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var measuringBefore = Engine.Nn.SparseCrossover.MeasuringTime;
        var metrics = new StringBuilder();
        var best = (Iteration: 0, ValLoss: double.PositiveInfinity, TestAccuracy: double.NaN);
        EvalResult lastTest = default;
        int lastEvaluated = -1;
        void Evaluate(int iteration)
        {
            var val = Trainer.Evaluate(model, Validation);
            lastTest = Trainer.Evaluate(model, Test);
            lastEvaluated = iteration;
            metrics.Append(MetricsLine(iteration, val, lastTest));
            if (val.Loss < best.ValLoss || double.IsNaN(best.TestAccuracy))
            {
                // The first evaluation always counts, so that a training whose losses are never finite still
                // has an early-stopping point (iteration 0).
                best = (iteration, double.IsNaN(val.Loss) ? double.PositiveInfinity : val.Loss, lastTest.Accuracy);
            }
        }

        Evaluate(startIteration);
        trainer.TrainTo(total, p =>
        {
            cancellation.ThrowIfCancellationRequested();
            if (saveAt is not null && saveAt.TryGetValue(p.Iteration, out string? path))
            {
                Checkpoint.Save(path, model);
            }

            if (p.Iteration % _evalEvery == 0 || p.Iteration == total)
            {
                Evaluate(p.Iteration);
            }

            counter.Report(replicate, level, branch, p.Iteration - startIteration, total - startIteration);
        });

        cancellation.ThrowIfCancellationRequested();
        var divergence = trainer.Divergence;
        if (divergence is not null && lastEvaluated != trainer.Iteration)
        {
            Evaluate(trainer.Iteration);
        }

        var files = new List<string> { "mask.safetensors", "init.safetensors", "final.safetensors", "metrics.jsonl" };
        foreach (var (iteration, path) in (saveAt ?? new Dictionary<int, string>()).OrderBy(kv => kv.Key))
        {
            if (!File.Exists(path))
            {
                // Training diverged before this iteration (one past the end is refused up front): what starts
                // from it starts from the last weights the run had.
                Checkpoint.Save(path, model);
            }

            files.Add(Path.GetRelativePath(dir, path).Replace('\\', '/'));
        }

        Checkpoint.Save(Path.Combine(dir, "final.safetensors"), model);
        AtomicFile.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metrics.ToString());
        // Measured after training, in evaluation mode: it reads the weights and changes nothing that was trained.
        var lastTrain = Trainer.Evaluate(model, Train);
        string outcome = divergence is not null ? UnitResult.Diverged : ChanceLevel.IsAtChance(lastTest.Accuracy, Test) ? UnitResult.AtChance : UnitResult.Trained;
        var result = new UnitResult(branch, replicate, level, mask.Density, mask.Densities(), trainer.Iteration - startIteration, lastTest.Accuracy, lastTest.Loss, best.Iteration, double.IsPositiveInfinity(best.ValLoss) ? double.NaN : best.ValLoss, best.TestAccuracy)
        {
            Outcome = outcome,
            StartIteration = startIteration,
            DivergedAtIteration = divergence?.Iteration ?? 0,
            LastFiniteLoss = divergence?.LastFiniteLoss is { } l ? l : double.NaN,
            TrainAccuracy = lastTrain.Accuracy,
            TrainLoss = lastTrain.Loss,
            Files = files.Select(f => UnitFile.Of(dir, f)).ToList(),
        };

        // Wall-clock time is not a result: it lives beside result.json, outside its checked files, so that a resumed
        // run still ends with the same result bytes as an uninterrupted one.
        // A first measurement of the sparse crossovers is this machine's one-time cost, not the unit's.
        UnitTime.Write(dir, (clock.Elapsed - (Engine.Nn.SparseCrossover.MeasuringTime - measuringBefore)).TotalSeconds);

        // Written last: its presence marks the unit as finished.
        AtomicFile.WriteAllText(resultPath, result.ToJson());
        counter.Finish();
        return result;
    }

    /// <summary>One line of <c>metrics.jsonl</c>; losses that are not finite are written as null.</summary>
    internal static string MetricsLine(int iteration, EvalResult validation, EvalResult test)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("iteration", iteration);
            JsonNumbers.Write(w, "validation_loss", validation.Loss);
            JsonNumbers.Write(w, "validation_accuracy", validation.Accuracy);
            JsonNumbers.Write(w, "test_loss", test.Loss);
            JsonNumbers.Write(w, "test_accuracy", test.Accuracy);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    // A finished unit is reused only if nothing it recorded has changed since.
    internal static UnitResult Verify(string dir, string resultPath, string branch, int replicate, int level, MaskSet? expectedMask)
    {
        UnitResult done;
        try
        {
            done = UnitResult.Load(resultPath);
        }
        catch (InvalidDataException e)
        {
            throw new DamagedUnitException(dir, e.Message, e);
        }

        if (done.Branch != branch || done.Replicate != replicate || done.Level != level)
        {
            throw new DamagedUnitException(dir, string.Create(CultureInfo.InvariantCulture, $"'{resultPath}' records {done.Branch} replicate {done.Replicate} level {done.Level}, but the folder holds {branch} replicate {replicate} level {level}"));
        }

        foreach (var file in done.Files)
        {
            if (file.Check(dir) is { } problem)
            {
                throw new DamagedUnitException(dir, problem + " (changed after the unit finished)");
            }
        }

        if (expectedMask is not null)
        {
            var recorded = done.Files.FirstOrDefault(f => f.Path == "mask.safetensors");
            string expected = Convert.ToHexStringLower(SHA256.HashData(expectedMask.Serialize()));
            if (recorded is null || recorded.Sha256 != expected)
            {
                throw new DamagedUnitException(dir, $"'{Path.Combine(dir, "mask.safetensors")}' is not the mask this experiment computes for {branch} at level {level.ToString(CultureInfo.InvariantCulture)} (the level it was pruned from has changed)");
            }
        }

        return done;
    }
}
