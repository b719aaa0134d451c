using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// A finished lottery run whose tickets are trained on other data (ticket transfer, Morcos et al. 2019): the mask of
/// replicate r at level L (<c>replicate_r/level_LL/lottery/mask.safetensors</c>) with that replicate's θ₀
/// (<c>level_00/lottery/init.safetensors</c>; θₖ, <c>rewind.safetensors</c>, when the run rewinds to iteration k).
/// The source is named by a hash of its settings (<see cref="Id"/>), and each mask and θ₀ by the SHA-256 of its file.
/// </summary>
public sealed class TransferSource
{
    // Settings that say how much of the source ran, not what it computed (as in its run directory's name).
    private static readonly string[] ScopeKeys = ["levels", "branches", "branch_levels", "allow_empty_layers"];

    private readonly Dictionary<string, string> _settings;

    private TransferSource(string directory, Dictionary<string, string> settings, string id)
    {
        Directory = directory;
        _settings = settings;
        Id = id;
    }

    /// <summary>The source run's directory, as given.</summary>
    public string Directory { get; }

    /// <summary>
    /// First 10 hex digits of the SHA-256 of the source's settings (its <c>hyperparameters.json</c> without the keys that
    /// only say how much of it ran): the same for the same run wherever it lies, different for any other.
    /// </summary>
    public string Id { get; }

    /// <summary>Branch of the transferred tickets in the target run: <c>transfer_</c> and the first 6 digits of <see cref="Id"/>.</summary>
    public string TicketBranch => $"transfer_{Id[..6]}";

    /// <summary>Branch of the random masks of the tickets' per-layer densities on the same θ₀: <see cref="TicketBranch"/> and <c>_random</c>.</summary>
    public string RandomBranch => TicketBranch + "_random";

    /// <summary>The source's model (e.g. <c>lenet_300_100</c>).</summary>
    public string Model => Setting("model");

    /// <summary>The source's data (as it was given, e.g. <c>mnist-10k</c>).</summary>
    public string Data => Setting("data");

    /// <summary>The source's weight initialisation scheme.</summary>
    public string Init => Setting("init");

    /// <summary>The source's base seed (replicate r's θ₀ comes from seed + r).</summary>
    public string Seed => Setting("seed");

    /// <summary>The layers the source never pruned.</summary>
    public IReadOnlyList<string> Exclude => Setting("exclude").Split(',', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The iteration the source's levels rewind to (0: θ₀).</summary>
    public int RewindIteration => int.Parse(Setting("rewind_iteration"), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>
    /// Opens the run in <paramref name="directory"/>; a directory that is missing or holds no lottery run (no
    /// <c>hyperparameters.json</c>, or that of an instability run) is a <see cref="SettingsException"/> naming it.
    /// </summary>
    public static TransferSource Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string path = Path.Combine(directory, "hyperparameters.json");
        if (!File.Exists(path))
        {
            throw new SettingsException($"--transfer-from '{directory}': no lottery run there ({path} does not exist)");
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                settings[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }
        catch (JsonException e)
        {
            throw new SettingsException($"--transfer-from '{directory}': {path} is not valid JSON ({e.Message})");
        }

        if (settings.ContainsKey("experiment") || !settings.ContainsKey("model") || !settings.ContainsKey("rewind_iteration"))
        {
            throw new SettingsException($"--transfer-from '{directory}': not a lottery run ({path} is {(settings.TryGetValue("experiment", out string? e) ? $"an {e} experiment's" : "missing the settings of one")})");
        }

        string canonical = string.Join("\n", settings.Where(kv => !ScopeKeys.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        string id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..10];
        return new TransferSource(directory, settings, id);
    }

    /// <summary>
    /// Refuses a target that trains another model, initialises differently, or rewinds to another iteration than the
    /// source, with a <see cref="SettingsException"/> naming both run directories and both values.
    /// </summary>
    /// <param name="model">The target's model.</param>
    /// <param name="init">The target's initialisation scheme (as <see cref="InitScheme"/> prints).</param>
    /// <param name="rewindIteration">The iteration the target's levels rewind to; null when the target takes the source's.</param>
    /// <param name="exclude">The layers the target never prunes, comma-separated; null when the target takes the source's.</param>
    /// <param name="target">The target run's directory (or output), for the message.</param>
    public void CheckTarget(string model, string init, int? rewindIteration, string? exclude, string target)
    {
        void Same(string what, string mine, string theirs)
        {
            if (!string.Equals(mine, theirs, StringComparison.Ordinal))
            {
                throw new SettingsException($"--transfer-from '{Directory}': the source's {what} is {mine} but the target '{target}' has {theirs}; a ticket transfers only between runs that agree on it");
            }
        }

        Same("model", Model, model);
        Same("init", Init, init);
        if (rewindIteration is { } rewind)
        {
            Same("rewind iteration", RewindIteration.ToString(CultureInfo.InvariantCulture), rewind.ToString(CultureInfo.InvariantCulture));
        }

        if (exclude is not null)
        {
            Same("set of unpruned layers (--exclude)", Setting("exclude") is { Length: > 0 } e ? e : "(none)", exclude.Length > 0 ? exclude : "(none)");
        }
    }

    /// <summary>
    /// The random mask of <paramref name="ticket"/>'s per-layer densities a transfer trains beside it at
    /// <paramref name="level"/>, drawn from <paramref name="seed"/> (the replicate's seed): the same mask whether
    /// `lottery --transfer-from` or `train --transfer-from … --transfer-random` draws it.
    /// </summary>
    public static MaskSet RandomMask(TransferTicket ticket, ulong seed, int level)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        return RandomMasks.SameDensity(ticket.Mask, LotteryExperiment.DeriveSeed(seed, 4000 + (ulong)level));
    }

    /// <summary>The pruned levels replicate <paramref name="replicate"/> of the source has finished, in order.</summary>
    public IReadOnlyList<int> FinishedLevels(int replicate)
    {
        string dir = ReplicateDirectory(replicate);
        if (!System.IO.Directory.Exists(dir))
        {
            return [];
        }

        return System.IO.Directory.GetDirectories(dir, "level_*")
            .Where(d => File.Exists(Path.Combine(d, LotteryExperiment.LotteryBranch, "result.json")))
            .Select(d => int.TryParse(Path.GetFileName(d)["level_".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : -1)
            .Where(l => l > 0)
            .Order()
            .ToList();
    }

    /// <summary>
    /// The ticket of <paramref name="replicate"/> at <paramref name="level"/>: its mask, checked against the target's
    /// prunable <paramref name="layers"/> (a missing layer or another shape is refused, naming both runs), and the
    /// replicate's θ₀ (or θₖ), checked against <paramref name="model"/>'s state. The source unit must be finished and
    /// its mask and θ₀ must be the files its result recorded.
    /// </summary>
    public TransferTicket Ticket(int replicate, int level, Module model, IReadOnlyList<(string Name, Parameter Parameter)> layers, string target)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        string unit = Path.Combine(ReplicateDirectory(replicate), string.Create(CultureInfo.InvariantCulture, $"level_{level:D2}"), LotteryExperiment.LotteryBranch);
        string maskPath = Path.Combine(unit, "mask.safetensors");
        var maskRecord = Finished(unit, "mask.safetensors", replicate, level);
        MaskSet mask;
        try
        {
            mask = MaskSet.Load(maskPath, layers);
        }
        catch (InvalidDataException e)
        {
            throw new SettingsException($"--transfer-from '{Directory}': its ticket does not fit the target '{target}' ({model.GetType().Name} with {string.Join(", ", layers.Select(l => $"{l.Name} [{string.Join(",", l.Parameter.Shape)}]"))}): {e.Message}");
        }

        string dense = Path.Combine(ReplicateDirectory(replicate), "level_00", LotteryExperiment.LotteryBranch);
        var startRecord = RewindIteration == 0 ? Finished(dense, "init.safetensors", replicate, 0) : Finished(dense, "../../rewind.safetensors", replicate, 0);
        string startPath = Path.GetFullPath(Path.Combine(dense, startRecord.Path));
        var start = SafeTensors.Read(startPath).Tensors;
        var expected = model.StateDict();
        foreach (var (name, tensor) in expected)
        {
            if (!start.TryGetValue(name, out var t) || !t.Shape.AsSpan().SequenceEqual(tensor.Shape))
            {
                throw new SettingsException($"--transfer-from '{Directory}': its θ₀ ({startPath}) does not fit the target '{target}': {name} is {(t is null ? "missing" : $"[{string.Join(",", t.Shape)}]")} there, [{string.Join(",", tensor.Shape)}] in the target's model");
            }
        }

        var extra = start.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
        {
            throw new SettingsException($"--transfer-from '{Directory}': its θ₀ ({startPath}) has tensors the target '{target}' does not ({string.Join(", ", extra)})");
        }

        return new TransferTicket(mask, start, maskRecord.Sha256, startRecord.Sha256);
    }

    private string ReplicateDirectory(int replicate) => Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"replicate_{replicate}"));

    // A finished source unit's record of one of its files, after checking the file is still what it recorded.
    private UnitFile Finished(string unit, string file, int replicate, int level)
    {
        string resultPath = Path.Combine(unit, "result.json");
        if (!File.Exists(resultPath))
        {
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--transfer-from '{Directory}': replicate {replicate} has no finished ticket at level {level} ({resultPath} does not exist); run the source's lottery command with --levels {level + 1} or more and --replicates {replicate + 1} or more first"));
        }

        UnitResult result;
        try
        {
            result = UnitResult.Load(resultPath);
        }
        catch (InvalidDataException e)
        {
            throw new DamagedUnitException(unit, e.Message, e);
        }

        var record = result.Files.FirstOrDefault(f => f.Path == file) ?? throw new DamagedUnitException(unit, $"'{resultPath}' records no {file}");
        if (record.Check(unit) is { } problem)
        {
            throw new DamagedUnitException(unit, problem + " (changed after the unit finished)");
        }

        return record;
    }

    private string Setting(string key) => _settings.TryGetValue(key, out string? v) ? v : string.Empty;
}
