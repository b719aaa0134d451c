using System.Globalization;
using System.Text;
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

    /// <summary>Loads the recipe's data and holds out its validation set, chosen by <paramref name="dataSeed"/>.</summary>
    public ExperimentContext(TrainingRecipe recipe, int evalEvery, int rewindIteration, ulong dataSeed)
    {
        _recipe = recipe;
        _evalEvery = evalEvery;
        RewindIteration = rewindIteration;
        var (train, test) = DatasetCatalog.Load(recipe.Data);
        if (recipe.ValidationSize >= train.Count)
        {
            throw new ArgumentException($"validation size {recipe.ValidationSize} must be smaller than the {train.Count} training examples");
        }

        (Train, Validation) = train.Split(recipe.ValidationSize, dataSeed);
        Test = test;
    }

    /// <summary>Training examples (validation set removed).</summary>
    public Dataset Train { get; }

    /// <summary>Held-out validation examples (early stopping).</summary>
    public Dataset Validation { get; }

    /// <summary>Test examples.</summary>
    public Dataset Test { get; }

    /// <summary>Iteration whose weights a rewinding run keeps.</summary>
    public int RewindIteration { get; }

    /// <summary>A freshly initialised model of the recipe's architecture.</summary>
    public Module CreateModel(ulong seed) => ModelZoo.Create(_recipe.Model, Train.FeatureShape, Train.NumClasses, _recipe.Init, seed);

    /// <summary>A host copy of a model's state.</summary>
    public static Dictionary<string, SafeTensor> Snapshot(Module model) =>
        model.StateDict().ToDictionary(kv => kv.Key, kv => new SafeTensor((int[])kv.Value.Shape.Clone(), kv.Value.ToArray()), StringComparer.Ordinal);

    /// <summary>Loads a snapshot into a model.</summary>
    public static void Restore(Module model, IReadOnlyDictionary<string, SafeTensor> state) =>
        model.LoadStateDict(state.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal));

    /// <summary>
    /// Trains one unit from <paramref name="start"/> weights under <paramref name="mask"/> and stores mask,
    /// initial and final weights, metrics and (last) <c>result.json</c> in <paramref name="dir"/>; a unit whose
    /// result already exists is read back instead. With <paramref name="rewindPath"/>, the weights after
    /// <see cref="RewindIteration"/> iterations are saved there.
    /// </summary>
    public UnitResult RunUnit(string dir, string branch, int replicate, int level, ulong seed, IReadOnlyDictionary<string, SafeTensor> start, MaskSet mask, UnitCounter counter, string? rewindPath, CancellationToken cancellation)
    {
        string resultPath = Path.Combine(dir, "result.json");
        if (File.Exists(resultPath))
        {
            counter.Finish();
            return UnitResult.Load(resultPath);
        }

        Directory.CreateDirectory(dir);
        var recipe = _recipe;
        var model = CreateModel(seed);
        Restore(model, start);
        mask.Apply(model);
        mask.Save(Path.Combine(dir, "mask.safetensors"));
        Checkpoint.Save(Path.Combine(dir, "init.safetensors"), model);

        var trainer = new Trainer(model, recipe.CreateOptimizer(model), recipe.CreateSchedule(), Train, recipe.BatchSize, seed);
        int total = recipe.Epochs * trainer.IterationsPerEpoch;
        var metrics = new StringBuilder();
        var best = (Iteration: 0, ValLoss: double.PositiveInfinity, TestAccuracy: 0.0);
        EvalResult lastTest = default;
        void Evaluate(int iteration)
        {
            var val = Trainer.Evaluate(model, Validation);
            lastTest = Trainer.Evaluate(model, Test);
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
                if (rewindPath is not null && p.Iteration == RewindIteration)
                {
                    Checkpoint.Save(rewindPath, model);
                }

                if (p.Iteration % _evalEvery == 0 || p.Iteration == total)
                {
                    Evaluate(p.Iteration);
                }

                counter.Report(replicate, level, branch, p.Iteration, total);
            });
        }

        if (rewindPath is not null && !File.Exists(rewindPath))
        {
            throw new ArgumentException($"rewind iteration {RewindIteration} is past the end of training ({total} iterations)");
        }

        Checkpoint.Save(Path.Combine(dir, "final.safetensors"), model);
        AtomicFile.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metrics.ToString());
        var result = new UnitResult(branch, replicate, level, mask.Density, mask.Densities(), total, lastTest.Accuracy, lastTest.Loss, best.Iteration, best.ValLoss, best.TestAccuracy);

        // Written last: its presence marks the unit as finished.
        AtomicFile.WriteAllText(resultPath, result.ToJson());
        counter.Finish();
        return result;
    }
}
