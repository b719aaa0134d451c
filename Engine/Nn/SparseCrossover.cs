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
/// <para>A measurement times the layer's training pass through the engine (forward, input gradient and weight gradient,
/// under a tensor arena) dense and sparse at two densities, fits the sparse time as a line in the density, and keeps
/// the density where that line comes down to 70% of the dense time. After a second of warm-up (so every kernel runs
/// optimised code) it takes a fraction of a second per shape.</para>
/// <para>The file is <c>sparse-crossover.json</c> in <see cref="CacheDirectory"/>, one section per machine (CPU model,
/// SIMD width, thread count and kernel revision), written atomically; two processes measuring at once keep one of the two values.
/// Delete it to measure again.</para>
/// </remarks>
public static class SparseCrossover
{
    private const string FileName = "sparse-crossover.json";
    private static readonly object Gate = new();
    private static readonly Dictionary<string, double> Known = new(StringComparer.Ordinal);
    private static readonly Dictionary<(int Inputs, int Outputs, int Batch), double> LinearKnown = [];
    private static readonly Dictionary<Conv2dGeometry, double> ConvKnown = [];
    private static string? s_cacheDirectory;
    private static long s_measuringTicks;

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
                LinearKnown.Clear();
                ConvKnown.Clear();
            }
        }
    }

    /// <summary>
    /// The time this process has spent measuring crossovers so far, which a caller timing its own work (a unit's
    /// training) can leave out: it is spent once per machine and layer shape.
    /// </summary>
    public static TimeSpan MeasuringTime => TimeSpan.FromTicks(Interlocked.Read(ref s_measuringTicks));

    /// <summary>
    /// The machine a measurement belongs to: CPU model, SIMD width, threads and the revision of the sparse kernels, so a
    /// crossover measured before the kernels changed is measured again rather than reused.
    /// </summary>
    public static string Machine { get; } = $"{CpuModel()} | {KernelInfo.VectorWidth * 32}-bit | {Environment.ProcessorCount} threads | sparse kernels r{KernelRevision}";

    /// <summary>Raised whenever the sparse or dense kernels change speed enough to move a crossover.</summary>
    private const int KernelRevision = 4;

    /// <summary>
    /// The crossover density of a linear layer [outputs, inputs] at this batch size (rounded up to a power of two, so
    /// a run's last short batch needs no measurement of its own): measured on first use, then read from the file.
    /// </summary>
    public static double Linear(int inputs, int outputs, int batch)
    {
        int bucket = BatchBucket(batch);
        lock (Gate)
        {
            // Asked on every forward pass: a known shape is answered without building its key.
            if (LinearKnown.TryGetValue((inputs, outputs, bucket), out double known))
            {
                return known;
            }
        }

        double crossover = Lookup($"linear {inputs}->{outputs} b{bucket}", () => MeasureLinear(inputs, outputs, bucket));
        lock (Gate)
        {
            LinearKnown[(inputs, outputs, bucket)] = crossover;
        }

        return crossover;
    }

    /// <summary>
    /// The crossover density of a convolution of geometry <paramref name="g"/> (its batch rounded up to a power of
    /// two): measured on first use, then read from the file.
    /// </summary>
    public static double Conv(Conv2dGeometry g)
    {
        var b = g with { N = BatchBucket(g.N) };
        lock (Gate)
        {
            if (ConvKnown.TryGetValue(b, out double known))
            {
                return known;
            }
        }

        string key = string.Create(CultureInfo.InvariantCulture, $"conv {b.C}x{b.H}x{b.W}->{b.O} k{b.KH}x{b.KW} s{b.StrideH}x{b.StrideW} p{b.PadH}x{b.PadW} b{b.N}");
        double crossover = Lookup(key, () => MeasureConv(b));
        lock (Gate)
        {
            ConvKnown[b] = crossover;
        }

        return crossover;
    }

    /// <summary>
    /// Whether a layer whose weight has <paramref name="parameter"/>'s mask runs sparse under <paramref name="mode"/>,
    /// with its compressed form (values loaded) when it does; <paramref name="crossover"/> gives the layer's crossover
    /// from <paramref name="shape"/> (a static function, so a forward pass allocates nothing to ask).
    /// </summary>
    internal static bool Choose<TShape>(SparseMode mode, Parameter parameter, TShape shape, Func<TShape, double> crossover, out SparseMatrix? compressed)
    {
        compressed = mode == SparseMode.Off ? null : parameter.Compressed(loadValues: false);
        if (compressed is null)
        {
            return false;
        }

        if (mode == SparseMode.Auto && !(compressed.Density < crossover(shape)))
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

            var clock = Stopwatch.StartNew();
            double measured = Math.Round(measure(), 4);
            s_measuringTicks += clock.Elapsed.Ticks;
            Known[key] = measured;
            Save(key, measured);
            return measured;
        }
    }

    // The layers are timed as training runs them: the module's forward pass and the backward pass through it (input
    // gradient included) under a tensor arena, so the sparse path's workspaces, transposes and bookkeeping count too.
    private static double MeasureLinear(int inputs, int outputs, int batch) =>
        MeasureLayer(() => new Linear(inputs, outputs), [batch, inputs]);

    private static double MeasureConv(Conv2dGeometry g) =>
        MeasureLayer(() => new Conv2d(g.C, g.O, g.KH, g.StrideH, g.PadH), [g.N, g.C, g.H, g.W]);

    /// <summary>
    /// Times a layer's training pass dense (no mask) against the same layer pruned at two densities (random masks)
    /// on the sparse path, and returns the density where the sparse time, a line in the density, meets the dense time.
    /// </summary>
    private static double MeasureLayer(Func<Module> create, int[] inputShape)
    {
        // Measured on first use, which may be inside a training step's arena scope or an evaluation without a graph.
        using var outside = TensorArena.Suspend();
        using var grad = GradMode.EnableGrad();
        var rng = new System.Random(12345);
        float[] Uniform(int n)
        {
            var data = new float[n];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (float)(rng.NextDouble() - 0.5);
            }

            return data;
        }

        var x = Tensor.FromArray(Uniform(Tensors.Shape.Size(inputShape)), inputShape);
        x.RequiresGrad = true;
        Action Pass(SparseMode mode, double density)
        {
            var layer = create().UseSparse(mode);
            foreach (var p in layer.Parameters())
            {
                Uniform(p.Size).CopyTo(p.Value.Span);
            }

            var weight = layer.NamedParameters().First(p => p.Name == "weight").Parameter;
            if (density < 1)
            {
                weight.Mask = Tensor.FromArray(Uniform(weight.Size).Select(_ => rng.NextDouble() < density ? 1f : 0f).ToArray(), weight.Shape);
                weight.ApplyMask();
            }

            var arena = new TensorArena();
            return () =>
            {
                weight.ClearGrad();
                x.Grad = null;
                using (arena.Enter())
                {
                    Gradients.Backward(layer.Forward(x).Sum());
                }
            };
        }

        var passes = new[] { Pass(SparseMode.Off, 1), Pass(SparseMode.On, LowDensity), Pass(SparseMode.On, HighDensity) };
        var crossovers = new double[Repeats];
        for (int i = 0; i < Repeats; i++)
        {
            var times = TimeInterleaved(passes, warmed: i > 0);
            crossovers[i] = Crossover(times[0] * SparseShare, LowDensity, times[1], HighDensity, times[2]);
        }

        Array.Sort(crossovers);
        return crossovers[Repeats / 2];
    }

    /// <summary>
    /// Independent measurements of a crossover, of which the median is kept: the value is cached for good, and one
    /// measurement caught by a slow phase of a shared machine once put LeNet-300-100's 300→100 layer at 4% (dense at
    /// almost every level of a run) where three fresh ones, at the share then used, gave 45–59%.
    /// </summary>
    private const int Repeats = 3;

    // The first measurement of a process also waits for the engine's own code to be recompiled; later ones only for
    // their kernels'.
    private const double LaterWarmUpSeconds = 0.25;
    private static double s_warmUpSeconds = 1.0;

    /// <summary>
    /// The share of the dense time the sparse path must come under, measured alone, to be chosen: a layer timed alone
    /// has its data warm in cache, while inside a training step the other layers evict it and the sparse path's
    /// scattered reads lose more than the dense path's streams. With LeNet-300-100 on the 2-core Zen 4
    /// (`bench-ticket`, dense and sparse steps in turns, a main-job run's tickets), the whole step ran 0.76× as fast
    /// sparse at 41% density, 0.99× at 26%, 0.91× at 21% and 1.23× at 17%; a share of 0.7 put the hidden layers'
    /// crossovers at 42–49% (sparse from 41%), 0.5 puts them at 22–31% (sparse from 21%).
    /// </summary>
    private const double SparseShare = 0.5;

    private const double LowDensity = 0.05;
    private const double HighDensity = 0.25;

    /// <summary>
    /// The median time in seconds of each of <paramref name="runs"/>, timed in turns (one of each, then again), so a
    /// load that comes and goes on a shared machine slows them alike and their ratios hold. Turns are run untimed for
    /// a second first (a quarter of one after the first measurement of the process; two turns alone when
    /// <paramref name="warmed"/>, the runs having just been timed): code called for the first time runs unoptimised
    /// until the runtime has recompiled it, and a kernel timed then would look several times slower than it is. More
    /// turns are timed when a turn is short.
    /// </summary>
    internal static double[] TimeInterleaved(Action[] runs, bool warmed = false)
    {
        var clock = Stopwatch.StartNew();
        int warm = 0;
        double warmUp = warmed ? 0 : Interlocked.Exchange(ref s_warmUpSeconds, LaterWarmUpSeconds);
        while (warm < 2 || clock.Elapsed.TotalSeconds < warmUp)
        {
            foreach (var run in runs)
            {
                run();
            }

            warm++;
        }

        double turn = clock.Elapsed.TotalSeconds / warm;
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
