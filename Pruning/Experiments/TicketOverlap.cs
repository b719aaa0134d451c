using System.Globalization;
using System.Text;
using System.Text.Json;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Many tickets: how much the lottery tickets (IMP masks) of different replicates agree, level by level, against the
/// overlap independent random masks of the same per-layer densities would have by chance (see
/// <see cref="MaskOverlap"/>), with each ticket's test accuracy beside it, to show whether different masks win equally.
/// Within one run every pair of replicates is compared (they differ in θ₀ and in data order); between two runs,
/// replicate r of one with replicate r of the other (e.g. the same θ₀ with another <c>--data-seed</c>).
/// </summary>
public static class TicketOverlap
{
    /// <summary>File the overlap is written to in a run directory by <c>sparsenet report</c>.</summary>
    public const string FileName = "overlap.json";

    /// <summary>
    /// Compares the tickets of every pair of replicates of <paramref name="runDirectory"/> at every pruned level at
    /// which at least two replicates have finished; null when there is no such level.
    /// </summary>
    public static TicketOverlapSummary? WithinRun(string runDirectory) => WithinRun(runDirectory, LotteryExperiment.Results(runDirectory));

    /// <summary>As <see cref="WithinRun(string)"/>, from the run's unit results already read.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <param name="results">Its unit results (<see cref="LotteryExperiment.Results"/>).</param>
    public static TicketOverlapSummary? WithinRun(string runDirectory, IReadOnlyList<UnitResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var tickets = Tickets(runDirectory, results);
        var levels = new List<TicketOverlapLevel>();
        foreach (var level in tickets.GroupBy(t => t.Level).OrderBy(g => g.Key))
        {
            var list = level.OrderBy(t => t.Replicate).ToList();
            var pairs = new List<TicketPair>();

            // Each mask is read once per level, however many pairs it is in.
            List<MaskSet> masks = list.Count < 2 ? [] : list.Select(t => Read(t.MaskPath)).ToList();
            for (int i = 0; i < list.Count; i++)
            {
                for (int j = i + 1; j < list.Count; j++)
                {
                    pairs.Add(Pair(list[i], list[j], masks[i], masks[j], $"replicate {list[i].Replicate}", $"replicate {list[j].Replicate}"));
                }
            }

            if (pairs.Count > 0)
            {
                levels.Add(new TicketOverlapLevel(level.Key, list.Average(t => t.WeightsRemaining), pairs, list.Select(t => ($"replicate {t.Replicate}", t.TestAccuracy)).ToList()));
            }
        }

        if (levels.Count == 0)
        {
            return null;
        }

        var settings = Settings(runDirectory);
        string seeds = settings.Seed is { } s ? string.Create(CultureInfo.InvariantCulture, $" (replicate r: seed {s}+r, data seed {settings.DataSeed ?? s}+r)") : string.Empty;
        return new TicketOverlapSummary($"tickets of different replicates of this run: different θ₀ and data order{seeds}", levels);
    }

    /// <summary>
    /// Compares replicate r's ticket of <paramref name="runA"/> with replicate r's of <paramref name="runB"/> at every
    /// pruned level both have finished; says what differs between the runs (θ₀, data order, data). The runs must
    /// mask the same layers with the same shapes.
    /// </summary>
    public static TicketOverlapSummary BetweenRuns(string runA, string runB)
    {
        var a = Tickets(runA, LotteryExperiment.Results(runA));
        var b = Tickets(runB, LotteryExperiment.Results(runB)).ToDictionary(t => (t.Replicate, t.Level));
        var levels = new List<TicketOverlapLevel>();
        foreach (var level in a.GroupBy(t => t.Level).OrderBy(g => g.Key))
        {
            var pairs = new List<TicketPair>();
            var accuracies = new List<(string, double)>();
            foreach (var t in level.OrderBy(t => t.Replicate))
            {
                if (b.TryGetValue((t.Replicate, t.Level), out var other))
                {
                    string ra = $"A replicate {t.Replicate}", rb = $"B replicate {t.Replicate}";
                    pairs.Add(Pair(t, other, Read(t.MaskPath), Read(other.MaskPath), ra, rb));
                    accuracies.Add((ra, t.TestAccuracy));
                    accuracies.Add((rb, other.TestAccuracy));
                }
            }

            if (pairs.Count > 0)
            {
                levels.Add(new TicketOverlapLevel(level.Key, pairs.Average(p => p.Layers[^1].DensityA), pairs, accuracies));
            }
        }

        if (levels.Count == 0)
        {
            throw new InvalidDataException($"'{runA}' and '{runB}' have no pruned level finished by the same replicate in both; nothing to compare");
        }

        return new TicketOverlapSummary($"replicate r of A = {runA} against replicate r of B = {runB}: {Differences(Settings(runA), Settings(runB))}", levels);
    }

    private sealed record Ticket(int Replicate, int Level, double WeightsRemaining, double TestAccuracy, string MaskPath);

    private static List<Ticket> Tickets(string runDirectory, IReadOnlyList<UnitResult> results) =>
        results
            .Where(u => u.Branch == LotteryExperiment.LotteryBranch && u.Level > 0)
            .Select(u => new Ticket(u.Replicate, u.Level, u.WeightsRemaining, u.TestAccuracy, Path.Combine(runDirectory, $"replicate_{u.Replicate.ToString(CultureInfo.InvariantCulture)}", string.Create(CultureInfo.InvariantCulture, $"level_{u.Level:D2}"), LotteryExperiment.LotteryBranch, "mask.safetensors")))
            .ToList();

    private static TicketPair Pair(Ticket a, Ticket b, MaskSet maskA, MaskSet maskB, string nameA, string nameB)
    {
        try
        {
            return new TicketPair(nameA, nameB, MaskOverlap.Compare(maskA, maskB));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{a.MaskPath}' and '{b.MaskPath}' cannot be compared: {e.Message}", e);
        }
    }

    // A mask file as written by MaskSet.Save, its tensors in name order.
    private static MaskSet Read(string path)
    {
        var (tensors, _) = SafeTensors.Read(path);
        try
        {
            return new MaskSet(tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.Shape, kv.Value.Data)));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    private sealed record RunSettings(string? Model, string? Init, string? Data, string? Fingerprint, ulong? Seed, ulong? DataSeed);

    // What a run's hyperparameters.json says about its θ₀ and data order (null where it says nothing).
    private static RunSettings Settings(string runDirectory)
    {
        string path = Path.Combine(runDirectory, "hyperparameters.json");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var e = doc.RootElement;
            string? Text(string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            ulong? Number(string key) => ulong.TryParse(Text(key), NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) ? n : null;
            return new RunSettings(Text("model"), Text("init"), Text("data"), Text("data_fingerprint"), Number("seed"), Number("data_seed"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return new RunSettings(null, null, null, null, null, null);
        }
    }

    private static string Differences(RunSettings a, RunSettings b)
    {
        if (a.Seed is null || b.Seed is null)
        {
            return "(a run's hyperparameters.json is missing: what differs between them is not known)";
        }

        bool sameInit = a.Seed == b.Seed && a.Model == b.Model && a.Init == b.Init;
        bool sameData = a.Fingerprint == b.Fingerprint;
        bool sameOrder = sameData && (a.DataSeed ?? a.Seed) == (b.DataSeed ?? b.Seed);
        string init = sameInit ? string.Create(CultureInfo.InvariantCulture, $"same θ₀ (seed {a.Seed}+r)") : string.Create(CultureInfo.InvariantCulture, $"different θ₀ (seeds {a.Seed}+r and {b.Seed}+r)");
        string order = !sameData ? $"different data ({a.Data} and {b.Data})"
            : sameOrder ? "same data order"
            : string.Create(CultureInfo.InvariantCulture, $"different data order (data seeds {a.DataSeed ?? a.Seed}+r and {b.DataSeed ?? b.Seed}+r)");
        return $"{init}, {order}";
    }
}
