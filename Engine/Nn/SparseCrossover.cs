using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.IO;
using SparseNet.Engine.Tensors;
using SparseNet.Kernels;

namespace SparseNet.Engine.Nn;

/// <summary>
/// The density below which a pruned layer's sparse path is faster than its dense path on this machine, measured once
/// per layer shape and kept in a file, so <see cref="SparseMode.Auto"/> chooses by measurement rather than by a
/// guess, and chooses the same way in every later run on the machine.
/// </summary>
/// <remarks>
/// <para>A measurement times the dense training step of the shape (forward, input gradient and weight gradient) and
/// the sparse one at two densities, fits the sparse time as a line in the density, and keeps the density where the
/// line meets the dense time. It takes from milliseconds (LeNet's layers) to about a second (the largest layers).</para>
/// <para>The file is <c>sparse-crossover.json</c> in <see cref="CacheDirectory"/>, one section per machine (CPU model,
/// SIMD width and thread count), written atomically; two processes measuring at once keep one of the two values.
/// Delete it to measure again.</para>
/// </remarks>
public static class SparseCrossover
{
    private const string FileName = "sparse-crossover.json";
    private static readonly object Gate = new();
    private static readonly Dictionary<string, double> Known = new(StringComparer.Ordinal);
    private static string? s_cacheDirectory;

    /// <summary>
    /// Where the measurements are kept: <c>$SPARSENET_CACHE_DIR</c> if set, else <c>$XDG_CACHE_HOME/sparsenet</c>, else
    /// <c>~/.cache/sparsenet</c>. Setting it (tests, an app with its own cache) drops what was read from the old place.
    /// </summary>
    public static string CacheDirectory
    {
        get => s_cacheDirectory ??= DefaultDirectory();
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            lock (Gate)
            {
                s_cacheDirectory = value;
                Known.Clear();
            }
        }
    }

    /// <summary>The machine a measurement belongs to: CPU model, SIMD width and threads.</summary>
    public static string Machine { get; } = $"{CpuModel()} | {KernelInfo.VectorWidth * 32}-bit | {Environment.ProcessorCount} threads";

    /// <summary>
    /// The crossover density of a linear layer [outputs, inputs] at this batch size (rounded up to a power of two, so
    /// a run's last short batch needs no measurement of its own): measured on first use, then read from the file.
    /// </summary>
    public static double Linear(int inputs, int outputs, int batch)
    {
        int bucket = BatchBucket(batch);
        return Lookup($"linear {inputs}->{outputs} b{bucket}", () => MeasureLinear(inputs, outputs, bucket));
    }

    /// <summary>
    /// The crossover density of a convolution of geometry <paramref name="g"/> (its batch rounded up to a power of
    /// two): measured on first use, then read from the file.
    /// </summary>
    public static double Conv(Conv2dGeometry g)
    {
        var b = g with { N = BatchBucket(g.N) };
        string key = string.Create(CultureInfo.InvariantCulture, $"conv {b.C}x{b.H}x{b.W}->{b.O} k{b.KH}x{b.KW} s{b.StrideH}x{b.StrideW} p{b.PadH}x{b.PadW} b{b.N}");
        return Lookup(key, () => MeasureConv(b));
    }

    /// <summary>Whether a layer whose weight has <paramref name="parameter"/>'s mask runs sparse under <paramref name="mode"/>.</summary>
    internal static bool Choose(SparseMode mode, Parameter parameter, Func<double> crossover, out SparseMatrix? compressed)
    {
        compressed = mode == SparseMode.Off ? null : parameter.Compressed(loadValues: false);
        if (compressed is null)
        {
            return false;
        }

        if (mode == SparseMode.Auto && !(compressed.Density < crossover()))
        {
            compressed = null;
            return false;
        }

        compressed = parameter.Compressed(loadValues: true);
        return true;
    }

    internal static int BatchBucket(int batch) => batch <= 1 ? 1 : (int)Math.Min(1 << 30, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)batch));

    /// <summary>The cached crossover for <paramref name="key"/>, or <paramref name="measure"/>'s, which is then saved.</summary>
    internal static double Lookup(string key, Func<double> measure)
    {
        lock (Gate)
        {
            if (Known.Count == 0)
            {
                Load();
            }

            if (Known.TryGetValue(key, out double known))
            {
                return known;
            }

            double measured = Math.Round(measure(), 4);
            Known[key] = measured;
            Save(key, measured);
            return measured;
        }
    }

    private static double MeasureLinear(int inputs, int outputs, int batch)
    {
        var bench = new Bench();
        var x = bench.Uniform(batch, inputs);
        var dy = bench.Uniform(batch, outputs);
        var w = bench.Uniform(outputs, inputs);
        var y = Tensor.Zeros(batch, outputs);
        var dx = Tensor.Zeros(batch, inputs);
        var dw = Tensor.Zeros(outputs, inputs);
        var backend = Bench.Backend;
        var xWork = Tensor.Zeros(backend.SparseWorkspaceLength(inputs, batch));
        var dyWork = Tensor.Zeros(backend.SparseWorkspaceLength(outputs, batch));
        return bench.Crossover(
            () =>
            {
                backend.MatMul(x, w, false, true, y);
                backend.MatMul(dy, w, false, false, dx);
                backend.MatMul(dy, x, true, false, dw);
            },
            outputs,
            inputs,
            m =>
            {
                backend.LoadSparseValues(m, w);
                backend.SparseLinearForward(m, x, xWork, y);
                backend.SparseLinearBackward(m, xWork, dy, dyWork, dx, dw, SparseGradWrite.Overwrite);
            });
    }

    private static double MeasureConv(Conv2dGeometry g)
    {
        var bench = new Bench();
        var x = bench.Uniform(g.N, g.C, g.H, g.W);
        var dy = bench.Uniform(g.N, g.O, g.OH, g.OW);
        var w = bench.Uniform(g.O, g.C, g.KH, g.KW);
        var y = Tensor.Zeros(g.N, g.O, g.OH, g.OW);
        var dx = Tensor.Zeros(g.N, g.C, g.H, g.W);
        var dw = Tensor.Zeros(g.O, g.C, g.KH, g.KW);
        var backend = Bench.Backend;
        return bench.Crossover(
            () =>
            {
                backend.Conv2d(x, w, null, g, y, relu: false);
                backend.Conv2dInputGrad(dy, w, g, dx);
                backend.Conv2dWeightGrad(x, dy, g, dw);
            },
            g.O,
            g.C * g.KH * g.KW,
            m =>
            {
                backend.LoadSparseValues(m, w);
                backend.SparseConv2d(m, x, null, g, y, relu: false);
                backend.SparseConv2dInputGrad(m, dy, g, dx);
                backend.SparseConv2dWeightGrad(m, x, dy, g, dw, SparseGradWrite.Overwrite);
            });
    }

    /// <summary>The inputs and the timing of one crossover measurement on the CPU, from a fixed seed.</summary>
    private sealed class Bench
    {
        private readonly System.Random _rng = new(12345);

        public static IBackend Backend => Device.Cpu.Backend;

        public Tensor Uniform(params int[] shape)
        {
            var data = new float[Tensors.Shape.Size(shape)];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (float)(_rng.NextDouble() - 0.5);
            }

            return Tensor.FromArray(data, shape);
        }

        /// <summary>Times the dense step against the sparse one at two densities of a random [rows, columns] mask; the crossover density.</summary>
        public double Crossover(Action dense, int rows, int columns, Action<SparseMatrix> sparse)
        {
            using var noGrad = GradMode.NoGrad();
            Action At(double density)
            {
                var mask = new float[rows * columns];
                for (int i = 0; i < mask.Length; i++)
                {
                    mask[i] = _rng.NextDouble() < density ? 1f : 0f;
                }

                var m = Backend.CompressRows(Tensor.FromArray(mask, rows, columns), rows, columns);
                return () => sparse(m);
            }

            var times = TimeInterleaved(dense, At(LowDensity), At(HighDensity));
            return SparseCrossover.Crossover(times[0], LowDensity, times[1], HighDensity, times[2]);
        }
    }

    private const double LowDensity = 0.05;
    private const double HighDensity = 0.25;

    /// <summary>
    /// The median time in seconds of each of <paramref name="runs"/>, timed in turns (one of each, then again), so a
    /// load that comes and goes on a shared machine slows them alike and their ratios hold. One warm-up turn first;
    /// more turns when a turn is short.
    /// </summary>
    internal static double[] TimeInterleaved(params Action[] runs)
    {
        var clock = new Stopwatch();
        double turn = 0;
        foreach (var run in runs)
        {
            run();
            clock.Restart();
            run();
            turn += clock.Elapsed.TotalSeconds;
        }

        int turns = Math.Clamp((int)(0.2 / Math.Max(turn, 1e-6)), 5, 41);
        var times = new double[runs.Length][];
        for (int r = 0; r < runs.Length; r++)
        {
            times[r] = new double[turns];
        }

        for (int t = 0; t < turns; t++)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                clock.Restart();
                runs[r]();
                times[r][t] = clock.Elapsed.TotalSeconds;
            }
        }

        return times.Select(ts =>
        {
            Array.Sort(ts);
            return ts[turns / 2];
        }).ToArray();
    }

    /// <summary>Where the line through the two sparse timings meets the dense time, within [0, 1].</summary>
    internal static double Crossover(double dense, double lowDensity, double lowTime, double highDensity, double highTime)
    {
        double slope = (highTime - lowTime) / (highDensity - lowDensity);
        if (!(slope > 0))
        {
            return lowTime < dense ? 1 : 0;
        }

        return Math.Clamp(lowDensity + ((dense - lowTime) / slope), 0, 1);
    }

    private static string FilePath => Path.Combine(CacheDirectory, FileName);

    private static void Load()
    {
        foreach (var (key, value) in ReadSection(FilePath))
        {
            Known[key] = value;
        }
    }

    // The file is read again just before writing, so entries another process saved meanwhile are kept.
    private static void Save(string key, double value)
    {
        try
        {
            JsonObject root = ReadRoot(FilePath) ?? [];
            if (root[Machine] is not JsonObject section)
            {
                section = [];
                root[Machine] = section;
            }

            section[key] = value;
            AtomicFile.WriteAllText(FilePath, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only home still runs; the measurement is kept in memory for this process.
        }
    }

    private static IEnumerable<(string Key, double Value)> ReadSection(string path)
    {
        if (ReadRoot(path)?[Machine] is not JsonObject section)
        {
            yield break;
        }

        foreach (var (key, node) in section)
        {
            if (node is JsonValue v && v.TryGetValue(out double d) && d >= 0 && d <= 1)
            {
                yield return (key, d);
            }
        }
    }

    // A missing or unreadable file counts as empty: it is a cache, and the next measurement rewrites it.
    private static JsonObject? ReadRoot(string path)
    {
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static string DefaultDirectory()
    {
        string? explicitDir = Environment.GetEnvironmentVariable("SPARSENET_CACHE_DIR");
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            return explicitDir;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "sparsenet");
    }

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is int colon and > 0)
                    {
                        return line[(colon + 1)..].Trim();
                    }
                }
            }
        }
        catch (IOException)
        {
        }

        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} CPU";
    }
}
