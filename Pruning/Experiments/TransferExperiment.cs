using System.Globalization;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// The transfer part of a lottery experiment (<see cref="TransferSettings"/>): per replicate r and chosen source level
/// L, the unit <c>replicate_r/level_LL/transfer_ID</c> trains the source's ticket (mask and θ₀ of its replicate r) on
/// this experiment's data, and <c>…/transfer_ID_random</c> a random mask of the same per-layer densities on the same
/// θ₀; both with this experiment's recipe and data order, from the iteration its own levels start at. The SHA-256 of
/// every mask and θ₀ used is kept in <c>transfer_ID.json</c> in the run directory, and a source whose files no
/// longer have those hashes is refused, so results of two sources are never mixed.
/// </summary>
internal sealed class TransferExperiment
{
    private readonly LotteryConfig _config;
    private readonly string _runDirectory;

    public TransferExperiment(TransferSettings settings, LotteryConfig config, string runDirectory)
    {
        Settings = settings;
        _config = config;
        _runDirectory = runDirectory;
        if (Path.GetFullPath(settings.From).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(runDirectory).TrimEnd(Path.DirectorySeparatorChar))
        {
            throw new SettingsException($"--transfer-from '{settings.From}' is this run itself; give a run on other data");
        }

        Source = TransferSource.Open(settings.From);
        Source.CheckTarget(config.Recipe.Model, config.Recipe.Init.ToString(), config.RewindIteration, string.Join(",", config.Exclude), runDirectory);
        foreach (int level in settings.Levels)
        {
            if (level < 1)
            {
                throw new SettingsException($"--transfer-levels: {level} is not a pruned level (1 or more)");
            }
        }

        Levels = settings.Levels.Count > 0 ? settings.Levels.Distinct().Order().ToList() : Source.FinishedLevels(0);
        if (Levels.Count == 0)
        {
            throw new SettingsException($"--transfer-from '{settings.From}': replicate 0 has no finished pruned level to transfer");
        }
    }

    public TransferSettings Settings { get; }

    public TransferSource Source { get; }

    /// <summary>The source levels transferred.</summary>
    public IReadOnlyList<int> Levels { get; }

    /// <summary>File in the run directory recording what this source's tickets were.</summary>
    public string RecordPath => Path.Combine(_runDirectory, Source.TicketBranch + ".json");

    public int UnitCount(int replicates) => replicates * Levels.Count * 2;

    /// <summary>Checks that every ticket the replicates need is finished in the source and fits the target's model.</summary>
    public void Validate(ExperimentContext context, IEnumerable<int> replicates)
    {
        foreach (int r in replicates)
        {
            var model = context.CreateModel(_config.Seed + (ulong)r);
            var layers = PrunableLayers.Find(model, _config.Exclude);
            foreach (int level in Levels)
            {
                _ = Source.Ticket(r, level, model, layers, _runDirectory);
            }
        }
    }

    /// <summary>
    /// Adds the hashes of the replicates' tickets to <see cref="RecordPath"/> (call under the run directory's lock),
    /// refusing a ticket whose mask or θ₀ differs from the one recorded for it.
    /// </summary>
    public void Record(ExperimentContext context, IEnumerable<int> replicates)
    {
        var tickets = new SortedDictionary<(int Replicate, int Level), (string Mask, string Start)>();
        if (File.Exists(RecordPath))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(RecordPath));
                foreach (var t in doc.RootElement.GetProperty("tickets").EnumerateArray())
                {
                    tickets[(t.GetProperty("replicate").GetInt32(), t.GetProperty("level").GetInt32())] = (t.GetProperty("mask_sha256").GetString()!, t.GetProperty("theta0_sha256").GetString()!);
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{RecordPath}' is not a valid transfer record ({e.Message})", e);
            }
        }

        foreach (int r in replicates)
        {
            var model = context.CreateModel(_config.Seed + (ulong)r);
            var layers = PrunableLayers.Find(model, _config.Exclude);
            foreach (int level in Levels)
            {
                var ticket = Source.Ticket(r, level, model, layers, _runDirectory);
                if (tickets.TryGetValue((r, level), out var recorded) && recorded != (ticket.MaskSha256, ticket.StartSha256))
                {
                    string what = recorded.Mask != ticket.MaskSha256 ? $"mask (SHA-256 {recorded.Mask[..12]}…, now {ticket.MaskSha256[..12]}…)" : $"θ₀ (SHA-256 {recorded.Start[..12]}…, now {ticket.StartSha256[..12]}…)";
                    throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--transfer-from '{Source.Directory}': the results of {Source.TicketBranch} in '{_runDirectory}' were trained from another {what} of replicate {r} level {level}, as {RecordPath} records; results are never mixed: delete {_runDirectory}/replicate_{r}/level_{level:D2}/{Source.TicketBranch}* and the replicate's entries there to train them again"));
                }

                tickets[(r, level)] = (ticket.MaskSha256, ticket.StartSha256);
            }
        }

        AtomicFile.WriteAllText(RecordPath, JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteString("source", Source.Directory);
            w.WriteString("source_id", Source.Id);
            w.WriteString("source_model", Source.Model);
            w.WriteString("source_data", Source.Data);
            w.WriteString("source_seed", Source.Seed);
            w.WriteString("ticket_branch", Source.TicketBranch);
            w.WriteString("random_branch", Source.RandomBranch);
            w.WriteStartArray("tickets");
            foreach (var ((r, level), (mask, start)) in tickets)
            {
                w.WriteStartObject();
                w.WriteNumber("replicate", r);
                w.WriteNumber("level", level);
                w.WriteString("mask_sha256", mask);
                w.WriteString("theta0_sha256", start);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));
    }

    /// <summary>Trains (or finds finished) the transferred tickets of <paramref name="replicate"/> and their random masks.</summary>
    public void RunReplicate(ExperimentContext context, int replicate, UnitCounter counter, CancellationToken cancellation)
    {
        ulong seed = _config.Seed + (ulong)replicate;
        ulong dataSeed = _config.DataSeedOf(replicate);
        var model = context.CreateModel(seed);
        var layers = PrunableLayers.Find(model, _config.Exclude);
        string dir = Path.Combine(_runDirectory, string.Create(CultureInfo.InvariantCulture, $"replicate_{replicate}"));
        foreach (int level in Levels)
        {
            var ticket = Source.Ticket(replicate, level, model, layers, _runDirectory);
            string levelDir = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"level_{level:D2}"));
            context.RunUnit(Path.Combine(levelDir, Source.TicketBranch), Source.TicketBranch, replicate, level, seed, ticket.Start, ticket.Mask, counter, saveAt: null, cancellation, dataSeed: dataSeed, startIteration: _config.RewindIteration);
            var random = TransferSource.RandomMask(ticket, seed, level);
            context.RunUnit(Path.Combine(levelDir, Source.RandomBranch), Source.RandomBranch, replicate, level, seed, ticket.Start, random, counter, saveAt: null, cancellation, dataSeed: dataSeed, startIteration: _config.RewindIteration);
        }
    }
}
