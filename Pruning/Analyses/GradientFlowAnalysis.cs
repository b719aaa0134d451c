using System.Globalization;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Analyses;

/// <summary>
/// Measures the gradient flow (<see cref="GradientFlow.Measure"/>) of every finished unit of a run in the experiment
/// store — each IMP level and branch, each pruning-at-initialisation mask and its sanity checks — at the weights that
/// unit's training started from (its <c>init.safetensors</c>: m ⊙ θ₀, or m ⊙ θₖ for a rewound run) under its
/// <c>mask.safetensors</c>, on the same training batches for all, and writes <see cref="GradientFlowResults.FileName"/>
/// into the run directory.
/// </summary>
public static class GradientFlowAnalysis
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Measures every unit finished so far and writes <c>gradient_flow.json</c> atomically under the run directory's
    /// lock. The training examples are the run's own (its data, validation hold-out and training subset, rebuilt from
    /// its <c>hyperparameters.json</c> and checked against the data fingerprint recorded there). Units already measured
    /// with the same settings, whose files have not changed, are taken from the existing file instead of measured again.
    /// </summary>
    /// <param name="runDirectory">A run directory of <c>lottery</c>, <c>prune-at-init</c> or <c>instability</c>.</param>
    /// <param name="settings">Batches, step size and batch seed.</param>
    /// <param name="progress">Called with a line for every unit measured.</param>
    /// <param name="cancellation">Stops between units; nothing is written then.</param>
    /// <exception cref="DirectoryNotFoundException">The run directory does not exist.</exception>
    /// <exception cref="InvalidDataException">A file of the run is missing, damaged or changed since it was written (named), or the data is not the run's.</exception>
    public static GradientFlowResults Run(string runDirectory, GradientFlowSettings settings, Action<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"run directory '{runDirectory}' does not exist");
        }

        var (recipe, seed, fingerprint) = ReadRun(runDirectory);
        if (fingerprint is not null && DatasetCatalog.Fingerprint(recipe.Data) is var now && now != fingerprint)
        {
            throw new InvalidDataException($"the data '{recipe.Data}' has fingerprint {now}, but '{Path.Combine(runDirectory, "hyperparameters.json")}' records {fingerprint}: it is not the data the run was trained on");
        }

        cancellation.ThrowIfCancellationRequested();
        var (all, _) = DatasetCatalog.Load(recipe.Data);
        var train = recipe.SelectTrainExamples(recipe.HoldOutValidation(all, seed).Train, seed);
        var batches = GradientFlow.Batches(train, settings.Batches, recipe.BatchSize, settings.Seed);

        var earlier = ReadEarlier(runDirectory, settings, recipe.BatchSize);
        var units = new List<GradientFlowUnit>();
        foreach (string resultPath in ResultFiles(runDirectory))
        {
            cancellation.ThrowIfCancellationRequested();
            string unitDir = Path.GetDirectoryName(resultPath)!;
            string relative = Path.GetRelativePath(runDirectory, unitDir).Replace('\\', '/');
            var result = UnitResult.Load(resultPath, verify: false);
            string initSha = CheckedHash(unitDir, result, "init.safetensors");
            string maskSha = CheckedHash(unitDir, result, "mask.safetensors");
            if (earlier.TryGetValue(relative, out var done) && done.InitSha256 == initSha && done.MaskSha256 == maskSha)
            {
                units.Add(done with { Branch = result.Branch, Replicate = result.Replicate, Level = result.Level, WeightsRemaining = result.WeightsRemaining, TestAccuracy = result.TestAccuracy });
                continue;
            }

            var model = ModelZoo.Create(recipe.Model, train.FeatureShape, train.NumClasses, recipe.Init, seed);
            string initPath = Path.Combine(unitDir, "init.safetensors");
            try
            {
                Checkpoint.Load(initPath, model);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"'{initPath}': not weights of {recipe.Model} ({e.Message})", e);
            }

            var mask = LoadMask(Path.Combine(unitDir, "mask.safetensors"), model);
            var measure = GradientFlow.Measure(model, mask, batches, settings.Step);
            units.Add(new GradientFlowUnit(relative, result.Branch, result.Replicate, result.Level, result.WeightsRemaining, result.TestAccuracy, initSha, maskSha, measure));
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{relative}: {100 * result.WeightsRemaining:0.0}% weights, cos(g, m⊙g) {measure.Cosine:0.000}, progress ratio predicted {measure.PredictedProgressRatio:0.000}, measured {measure.MeasuredProgressRatio:0.000}"));
        }

        if (units.Count == 0)
        {
            throw new InvalidDataException($"'{runDirectory}' holds no finished units (no replicate_*/**/result.json)");
        }

        var results = new GradientFlowResults(settings, recipe.BatchSize, units);
        cancellation.ThrowIfCancellationRequested();
        using (DirectoryLock.Acquire(runDirectory, "sparsenet analyze gradient-flow", LockWait, cancellation))
        {
            AtomicFile.WriteAllText(Path.Combine(runDirectory, GradientFlowResults.FileName), results.ToJson());
        }

        return results;
    }

    private static IEnumerable<string> ResultFiles(string runDirectory) =>
        Directory.GetDirectories(runDirectory, "replicate_*")
            .SelectMany(d => Directory.GetFiles(d, "result.json", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal);

    // An earlier file measured the same way; anything else (none, other settings, unreadable) is measured again.
    private static Dictionary<string, GradientFlowUnit> ReadEarlier(string runDirectory, GradientFlowSettings settings, int batchSize)
    {
        GradientFlowResults? earlier;
        try
        {
            earlier = GradientFlowResults.Read(runDirectory);
        }
        catch (InvalidDataException)
        {
            earlier = null;
        }

        return earlier is not null && earlier.Settings == settings && earlier.BatchSize == batchSize
            ? earlier.Units.ToDictionary(u => u.Path, StringComparer.Ordinal)
            : new Dictionary<string, GradientFlowUnit>(StringComparer.Ordinal);
    }

    // The file's SHA-256, checked against the one its result.json recorded (results of version 1 recorded none).
    private static string CheckedHash(string unitDir, UnitResult result, string name)
    {
        string full = Path.Combine(unitDir, name);
        if (!File.Exists(full))
        {
            throw new InvalidDataException($"'{full}' is missing; gradient flow needs every finished unit's {name}");
        }

        var recorded = result.Files.FirstOrDefault(f => f.Path == name);
        if (recorded?.Check(unitDir) is { } problem)
        {
            throw new InvalidDataException(problem + " (changed after the unit finished)");
        }

        if (recorded is not null)
        {
            return recorded.Sha256;
        }

        return UnitFile.Of(unitDir, name).Sha256;
    }

    // The masks a unit trained under, one per tensor the file names, each checked against the model's parameter.
    private static MaskSet LoadMask(string path, Module model)
    {
        var (tensors, _) = SafeTensors.Read(path);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        foreach (string name in tensors.Keys)
        {
            if (!parameters.ContainsKey(name))
            {
                throw new InvalidDataException($"'{path}': mask '{name}' names no parameter of the model");
            }
        }

        var layers = model.NamedParameters().Where(p => tensors.ContainsKey(p.Name)).ToList();
        return MaskSet.Load(path, layers);
    }

    // What rebuilds the run's training examples and model: its recipe's data, model, initialisation, batch size,
    // validation hold-out and training subset, the seed that chose them, and the data's fingerprint.
    private static (TrainingRecipe Recipe, ulong Seed, string? Fingerprint) ReadRun(string runDirectory)
    {
        string path = Path.Combine(runDirectory, "hyperparameters.json");
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"'{path}' is missing: '{runDirectory}' is not a run directory of the experiment store");
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var e = doc.RootElement;
            string Text(string key) => e.GetProperty(key).GetString() ?? throw new FormatException($"'{key}' is null");
            int Int(string key) => int.Parse(Text(key), NumberStyles.None, CultureInfo.InvariantCulture);
            var recipe = new TrainingRecipe
            {
                Model = Text("model"),
                Data = Text("data"),
                BatchSize = Int("batch_size"),
                Init = Enum.Parse<InitScheme>(Text("init")),
                ValidationSize = Int("validation_size"),
                TrainExamples = Int("train_examples"),
            };
            ulong seed = ulong.Parse(Text("seed"), NumberStyles.None, CultureInfo.InvariantCulture);
            string? fingerprint = e.TryGetProperty("data_fingerprint", out var f) ? f.GetString() : null;
            return (recipe, seed, fingerprint);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}': cannot read the run's settings ({ex.Message})", ex);
        }
    }
}
