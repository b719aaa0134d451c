using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;

namespace SparseNet.Cli.Commands;

/// <summary>
/// <c>sparsenet bench-ticket RUN_DIR</c>: times the tickets of a finished run on this machine, dense kernels against
/// sparse ones: inference over test batches and a training step, per ticket, with the path <c>--sparse auto</c> takes.
/// </summary>
internal static class BenchTicketCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN_DIR") { Description = "A lottery or prune-at-init run directory (with hyperparameters.json)" };
        var replicate = new Option<int>("--replicate") { Description = "The replicate whose tickets are timed", DefaultValueFactory = _ => 0 };
        var evalBatch = new Option<int>("--eval-batch") { Description = "Examples per inference batch", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int?>("--batch-size") { Description = "Examples per training step [default: the run's batch size]" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions of each measurement (the median is shown)", DefaultValueFactory = _ => 20 };
        var command = new Command(
            "bench-ticket",
            "Time each ticket of a run on this machine: inference (forward over test batches) and one training step (forward, backward, optimizer), "
            + "with dense kernels on the masked weights and with sparse kernels, and the speed-up; 'auto' says which path --sparse auto takes per layer.")
        {
            run, replicate, evalBatch, batch, repeats,
        };
        command.SetAction(parse => Run(parse.GetValue(run)!, parse.GetValue(replicate), parse.GetValue(evalBatch), parse.GetValue(batch), parse.GetValue(repeats)));
        return command;
    }

    private static int Run(string runDirectory, int replicate, int evalBatch, int? batchOption, int repeats)
    {
        if (evalBatch <= 0 || batchOption is <= 0 || repeats <= 0 || replicate < 0)
        {
            throw new SettingsException($"--eval-batch ({evalBatch}), --batch-size ({batchOption}) and --repeats ({repeats}) must be positive and --replicate ({replicate}) ≥ 0");
        }

        var settings = ReadSettings(runDirectory);
        string model = Setting(settings, runDirectory, "model");
        string data = Setting(settings, runDirectory, "data");
        int batch = batchOption ?? int.Parse(Setting(settings, runDirectory, "batch_size"), NumberStyles.None, CultureInfo.InvariantCulture);
        string replicateDir = Path.Combine(runDirectory, string.Create(CultureInfo.InvariantCulture, $"replicate_{replicate}"));
        var units = Directory.Exists(replicateDir)
            ? Directory.GetFiles(replicateDir, "mask.safetensors", SearchOption.AllDirectories)
                .Select(Path.GetDirectoryName)
                .Where(d => File.Exists(Path.Combine(d!, "final.safetensors")))
                .Select(d => d!)
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];
        if (units.Count == 0)
        {
            throw new SettingsException($"'{replicateDir}' holds no finished ticket (a folder with mask.safetensors and final.safetensors)");
        }

        var (train, test) = DatasetCatalog.Load(data);
        var net = ModelZoo.Create(model, train.FeatureShape, train.NumClasses, InitScheme.GlorotNormal, seed: 1);
        var layers = PrunableLayers.Find(net);
        var evalInput = Batch(test, evalBatch);
        var trainInput = Batch(train, batch);
        int[] labels = Enumerable.Range(0, batch).Select(i => train.Labels[i % train.Count]).ToArray();

        CliRunner.Say($"{model} on {data}, {Device.Cpu.Description}; inference: batches of {evalInput.Shape[0]}, training step: batch {batch}; median of {repeats}");
        CliRunner.Say($"{"ticket",-28} {"sparsity",8}  {"infer dense",11} {"sparse",8} {"speed-up",8}  {"step dense",10} {"sparse",8} {"speed-up",8}  auto");
        foreach (string unit in units)
        {
            CliRunner.Interrupt.ThrowIfCancellationRequested();
            Checkpoint.Load(Path.Combine(unit, "final.safetensors"), net);
            var mask = MaskSet.Load(Path.Combine(unit, "mask.safetensors"), layers);
            mask.Apply(net);
            double sparsity = 1 - (mask.KeptCount / (double)mask.TotalCount);

            var (inferDense, inferSparse) = Interleaved(net, repeats, Inference(net, evalInput));
            var step = Step(net, trainInput, labels);
            var (stepDense, stepSparse) = Interleaved(net, repeats, step);
            string auto = AutoChoice(net, step, layers.Count);
            Checkpoint.Load(Path.Combine(unit, "final.safetensors"), net);   // the steps above moved the weights

            CliRunner.Say(string.Create(
                CultureInfo.InvariantCulture,
                $"{Path.GetRelativePath(replicateDir, unit),-28} {sparsity * 100,7:F1}%  {inferDense * 1e3,8:F2} ms {inferSparse * 1e3,5:F2} ms {inferDense / inferSparse,7:F2}×  {stepDense * 1e3,7:F2} ms {stepSparse * 1e3,5:F2} ms {stepDense / stepSparse,7:F2}×  {auto}"));
        }

        return 0;
    }

    private static Tensor Batch(Dataset data, int size)
    {
        int n = Math.Min(size, data.Count);
        int features = data.Features.Length / data.Count;
        return Tensor.FromArray(data.Features.AsSpan(0, n * features), [n, .. data.FeatureShape]);
    }

    // A forward pass in evaluation mode without a graph.
    private static Action Inference(Module net, Tensor input)
    {
        var arena = new TensorArena();
        return () =>
        {
            net.Eval();
            using var noGrad = GradMode.NoGrad();
            using (arena.Enter())
            {
                _ = net.Forward(input).ToArray();
            }
        };
    }

    // A training step as the trainer takes it: forward, cross-entropy, backward, Adam.
    private static Action Step(Module net, Tensor input, int[] labels)
    {
        var optimizer = new Adam(net.Parameters(), 1e-4f);
        var arena = new TensorArena();
        return () =>
        {
            net.Train();
            optimizer.ZeroGrad();
            using (arena.Enter())
            {
                var loss = Tensor.SoftmaxCrossEntropy(net.Forward(input), labels);
                _ = loss.Item();
                Gradients.Backward(loss);
            }

            optimizer.Step();
        };
    }

    // The median time of run on the dense path and on the sparse path, taken in turns so that a load that comes and
    // goes on a shared machine slows both alike; one warm-up turn first.
    private static (double Dense, double Sparse) Interleaved(Module net, int repeats, Action run)
    {
        var dense = new double[repeats];
        var sparse = new double[repeats];
        var clock = new Stopwatch();
        for (int i = -1; i < repeats; i++)
        {
            net.UseSparse(SparseMode.Off);
            clock.Restart();
            run();
            double d = clock.Elapsed.TotalSeconds;
            net.UseSparse(SparseMode.On);
            clock.Restart();
            run();
            if (i >= 0)
            {
                (dense[i], sparse[i]) = (d, clock.Elapsed.TotalSeconds);
            }
        }

        Array.Sort(dense);
        Array.Sort(sparse);
        return (dense[repeats / 2], sparse[repeats / 2]);
    }

    // The layers --sparse auto runs sparse in a training step, by the crossover measured for their shapes (measured
    // now where this machine has no measurement yet).
    private static string AutoChoice(Module net, Action step, int prunable)
    {
        net.UseSparse(SparseMode.Auto);
        step();
        var sparse = Descendants(net, string.Empty)
            .Where(m => m.Module is Linear { LastRunSparse: true } or Conv2d { LastRunSparse: true })
            .Select(m => m.Name)
            .ToList();
        return sparse.Count == 0 ? "dense" : $"sparse: {string.Join(",", sparse)} ({sparse.Count} of {prunable} pruned layers)";
    }

    private static IEnumerable<(string Name, Module Module)> Descendants(Module module, string prefix)
    {
        foreach (var (name, child) in module.NamedChildren())
        {
            string full = prefix.Length == 0 ? name : $"{prefix}.{name}";
            yield return (full, child);
            foreach (var inner in Descendants(child, full))
            {
                yield return inner;
            }
        }
    }

    private static Dictionary<string, string> ReadSettings(string runDirectory)
    {
        string path = Path.Combine(runDirectory, "hyperparameters.json");
        if (!File.Exists(path))
        {
            throw new SettingsException($"'{runDirectory}' is not a run directory ({path} does not exist)");
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(),
                StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new SettingsException($"{path} is not valid JSON ({e.Message})");
        }
    }

    private static string Setting(Dictionary<string, string> settings, string runDirectory, string key) =>
        settings.TryGetValue(key, out string? value) && value.Length > 0
            ? value
            : throw new SettingsException($"{Path.Combine(runDirectory, "hyperparameters.json")} has no '{key}': not a lottery or prune-at-init run");
}
