using System.Globalization;
using SparseNet.Engine;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Instability analysis (Frankle et al. 2020): per replicate, one run (the trunk) trains from θ₀ to the largest k
/// and keeps θₖ for every k asked for; from each θₖ two copies train iterations k … T with different data orders;
/// then the test error is measured at evenly spaced points on the line between their final weights, with
/// batch-norm statistics recomputed at each point from training batches. Every training is a unit of the run
/// store and every path a checked <c>path.json</c>, so an interrupted run resumes where it stopped.
/// </summary>
/// <remarks>
/// Folders: <c>replicate_r/trunk</c> (the run to θₖ), <c>replicate_r/k_000100/start.safetensors</c> (θₖ),
/// <c>…/copy_a</c> and <c>…/copy_b</c> (the two trainings from θₖ) and <c>…/path.json</c>. Copy A draws its
/// batches with the data seed derived from the replicate's data seed and 8001, copy B with 8002; the trunk uses
/// the replicate's data seed itself.
/// </remarks>
public sealed class InstabilityExperiment
{
    /// <summary>File name of a finished path.</summary>
    public const string PathFile = "path.json";

    /// <summary>Branch names of the two copies.</summary>
    public static IReadOnlyList<string> Copies { get; } = ["copy_a", "copy_b"];

    private readonly InstabilityConfig _config;

    /// <summary>Prepares an experiment stored under <paramref name="runDirectory"/>.</summary>
    public InstabilityExperiment(InstabilityConfig config, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        RunDirectory = runDirectory;
    }

    /// <summary>Where the experiment's files live.</summary>
    public string RunDirectory { get; }

    /// <summary>The run directory of <paramref name="config"/> under <paramref name="root"/>: <c>root/instability-HASH</c>.</summary>
    public static string DirectoryFor(InstabilityConfig config, string root)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Path.Combine(root, $"instability-{config.Hash(DatasetCatalog.Fingerprint(config.Training.Recipe.Data))}");
    }

    /// <summary>Units of <paramref name="replicates"/> replicates: the trunk (when some k &gt; 0), and two copies and a path per k.</summary>
    public int UnitCount(int replicates, Shard? shard = null) =>
        (shard ?? Shard.All).Replicates(replicates).Count() * ((_config.TicketMask is null && _config.RewindIterations.Any(k => k > 0) ? 1 : 0) + (3 * _config.RewindIterations.Count));

    /// <summary>Runs (or resumes) every unit of <paramref name="replicates"/> replicates, then writes and returns the summary.</summary>
    /// <param name="replicates">Replicates (seeds seed, seed+1, ...).</param>
    /// <param name="progress">Called on every iteration (and every path point) and finished unit.</param>
    /// <param name="shard">Which of several processes this is; it runs only its replicates.</param>
    /// <param name="cancellation">Stops the run between iterations (finished units are kept).</param>
    public InstabilitySummary Run(int replicates, Action<ExperimentProgress>? progress = null, Shard? shard = null, CancellationToken cancellation = default)
    {
        var mine = shard ?? Shard.All;
        if (replicates < 1)
        {
            throw new SettingsException($"replicates must be ≥ 1, got {replicates}");
        }

        var start = ExperimentStart.Open(_config.Training, RunDirectory, "sparsenet instability", ValidatePlan, cancellation, _config.HyperparametersJson);
        var counter = new UnitCounter(UnitCount(replicates, mine), progress);
        foreach (int r in mine.Replicates(replicates))
        {
            using (start.Replicate(r))
            {
                RunReplicate(start.Context, r, counter, cancellation);
            }
        }

        return start.UnderRunLock(() =>
        {
            var summary = InstabilitySummary.Read(RunDirectory);
            AtomicFile.WriteAllText(Path.Combine(RunDirectory, "summary.json"), summary.ToJson());
            return summary;
        });
    }

    private void ValidatePlan(ExperimentContext context)
    {
        int total = context.IterationsPerUnit;
        foreach (int k in _config.RewindIterations)
        {
            if (k > total)
            {
                throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"rewind iteration {k} is past the end of training ({total} iterations: {_config.Training.Recipe.Epochs} epochs of {total / _config.Training.Recipe.Epochs})"));
            }
        }
    }

    /// <summary>The folder of rewind iteration <paramref name="k"/> in a replicate's folder.</summary>
    public static string RewindDirectory(string replicateDirectory, int k) =>
        Path.Combine(replicateDirectory, string.Create(CultureInfo.InvariantCulture, $"k_{k:D6}"));

    private void RunReplicate(ExperimentContext context, int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Training.Seed + (ulong)replicate;
        ulong dataSeed = _config.Training.DataSeedOf(replicate);
        string dir = Path.Combine(RunDirectory, $"replicate_{replicate}");
        var model = context.CreateModel(seed);
        var theta0 = ExperimentContext.Snapshot(model);
        var layers = PrunableLayers.Find(model);
        var ks = _config.RewindIterations.Order().ToList();

        // A ticket brings its own mask and θₖ (the same for every replicate); the dense network gets a trunk run.
        var mask = _config.TicketMask is { } maskFile ? MaskSet.Load(maskFile, layers) : MaskSet.Dense(layers);
        if (_config.TicketStart is { } startFile)
        {
            theta0 = SafeTensors.Read(startFile).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        }

        var startFiles = _config.TicketMask is null
            ? ks.Where(k => k > 0).ToDictionary(k => k, k => Path.Combine(RewindDirectory(dir, k), "start.safetensors"))
            : [];
        if (startFiles.Count > 0)
        {
            foreach (string f in startFiles.Values)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            }

            context.RunUnit(Path.Combine(dir, "trunk"), "trunk", replicate, 0, seed, theta0, mask, counter, startFiles, cancellation, dataSeed: dataSeed, endIteration: ks[^1]);
        }

        foreach (int k in ks)
        {
            string kDir = RewindDirectory(dir, k);
            var thetaK = startFiles.TryGetValue(k, out string? kFile) ? SafeTensors.Read(kFile).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : theta0;
            var finals = new List<string>();
            for (int c = 0; c < Copies.Count; c++)
            {
                string copyDir = Path.Combine(kDir, Copies[c]);
                var result = context.RunUnit(copyDir, Copies[c], replicate, k, seed, thetaK, mask, counter, saveAt: null, cancellation, dataSeed: LotteryExperiment.DeriveSeed(dataSeed, 8001 + (ulong)c), startIteration: k);
                finals.Add(result.Files.Single(f => f.Path == "final.safetensors").Sha256);
            }

            string pathFile = Path.Combine(kDir, PathFile);
            if (File.Exists(pathFile))
            {
                InstabilityPath done;
                try
                {
                    done = InstabilityPath.Load(pathFile);
                }
                catch (InvalidDataException e)
                {
                    throw new DamagedUnitException(kDir, e.Message, e);
                }

                if (done.Replicate == replicate && done.RewindIteration == k && done.CopyHashes.SequenceEqual(finals) && done.Points.Count == _config.Points)
                {
                    counter.Finish();
                    continue;
                }

                throw new DamagedUnitException(kDir, $"'{pathFile}' was measured on other copies or settings than this folder holds");
            }

            cancellation.ThrowIfCancellationRequested();
            var a = SafeTensors.Read(Path.Combine(kDir, Copies[0], "final.safetensors")).Tensors;
            var b = SafeTensors.Read(Path.Combine(kDir, Copies[1], "final.safetensors")).Tensors;
            var points = MeasurePath(context, model, a, b, LotteryExperiment.DeriveSeed(dataSeed, 8500), p => counter.Report(replicate, k, "path", p, _config.Points), cancellation);
            AtomicFile.WriteAllText(pathFile, new InstabilityPath(replicate, k, finals, points).ToJson());
            counter.Finish();
        }
    }

    // Test loss and accuracy at each point of the line from a to b. Batch-norm statistics of the interpolated
    // network are recomputed from the same training batches at every point (those of a and b do not carry over).
    private List<PathPoint> MeasurePath(ExperimentContext context, Module model, IReadOnlyDictionary<string, SafeTensor> a, IReadOnlyDictionary<string, SafeTensor> b, ulong batchSeed, Action<int> onPoint, CancellationToken cancellation)
    {
        var norms = BatchNorms(model).ToList();
        var points = new List<PathPoint>(_config.Points);
        for (int i = 0; i < _config.Points; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            double alpha = i / (double)(_config.Points - 1);
            ExperimentContext.Restore(model, Interpolate(a, b, alpha));
            if (norms.Count > 0)
            {
                RecomputeBatchNorm(model, norms, context.Train, _config.Training.Recipe.BatchSize, _config.BatchNormBatches, batchSeed);
            }

            var test = Trainer.Evaluate(model, context.Test);
            points.Add(new PathPoint(alpha, test.Loss, test.Accuracy));
            onPoint(i + 1);
        }

        return points;
    }

    /// <summary>(1 − α)·a + α·b for every tensor of two state dicts with the same keys and shapes.</summary>
    public static Dictionary<string, SafeTensor> Interpolate(IReadOnlyDictionary<string, SafeTensor> a, IReadOnlyDictionary<string, SafeTensor> b, double alpha)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, ta) in a)
        {
            if (!b.TryGetValue(name, out var tb) || !ta.Shape.AsSpan().SequenceEqual(tb.Shape))
            {
                throw new InvalidDataException($"interpolate: '{name}' is [{string.Join(",", ta.Shape)}] in the first network but {(b.ContainsKey(name) ? $"[{string.Join(",", b[name].Shape)}]" : "missing")} in the second");
            }

            var values = new float[ta.Data.Length];
            for (int j = 0; j < values.Length; j++)
            {
                values[j] = (float)(((1 - alpha) * ta.Data[j]) + (alpha * tb.Data[j]));
            }

            result[name] = new SafeTensor((int[])ta.Shape.Clone(), values);
        }

        return result;
    }

    /// <summary>Every batch-normalisation layer of <paramref name="module"/>, depth first.</summary>
    public static IEnumerable<BatchNorm2d> BatchNorms(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (module is BatchNorm2d norm)
        {
            yield return norm;
        }

        foreach (var (_, child) in module.NamedChildren())
        {
            foreach (var n in BatchNorms(child))
            {
                yield return n;
            }
        }
    }

    /// <summary>
    /// Replaces the running statistics of <paramref name="norms"/> by the plain average of the batch statistics of
    /// <paramref name="batches"/> training batches (batch t weighs 1/t in the running update), drawn in a fixed
    /// order from <paramref name="seed"/>; the model is left in evaluation mode.
    /// </summary>
    public static void RecomputeBatchNorm(Module model, IReadOnlyList<BatchNorm2d> norms, Dataset train, int batchSize, int batches, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(norms);
        ArgumentNullException.ThrowIfNull(train);
        var sampler = new BatchSampler(train.Count, batchSize, shuffle: true, seed);
        var momenta = norms.Select(n => n.Momentum).ToArray();
        var x = new float[batchSize * train.FeatureSize];
        var y = new int[batchSize];
        var arena = new TensorArena();
        model.Train();
        try
        {
            using var noGrad = GradMode.NoGrad();
            foreach (var n in norms)
            {
                n.RunningMean.Fill(0f);
                n.RunningVar.Fill(1f);
            }

            for (int t = 0; t < batches; t++)
            {
                foreach (var n in norms)
                {
                    n.Momentum = 1f / (t + 1);
                }

                var indices = sampler.Batch(t / sampler.BatchesPerEpoch, t % sampler.BatchesPerEpoch);
                sampler.Gather(train, indices, x, y);
                using var scope = arena.Enter();
                // A last partial batch needs an array of its own length; full batches reuse x.
                var input = indices.Length == batchSize ? x : x[..(indices.Length * train.FeatureSize)];
                model.Forward(Tensor.ForStep(input, [indices.Length, .. train.FeatureShape], model.Device));
            }
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++)
            {
                norms[i].Momentum = momenta[i];
            }

            model.Eval();
        }
    }
}
