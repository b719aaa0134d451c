using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparseNet.Engine;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Settings of a linear-mode-connectivity (instability) experiment (Frankle et al. 2020, "Linear Mode
/// Connectivity and the Lottery Ticket Hypothesis"): for each rewind iteration k, the network is trained to θₖ,
/// two copies are trained on from θₖ to the end with different data orders, and the test error is measured along
/// the straight line between the two final weight vectors.
/// </summary>
public sealed record InstabilityConfig
{
    /// <summary>Recipe, seeds, validation hold-out and evaluation interval of every training (its pruning settings are unused).</summary>
    public LotteryConfig Training { get; init; } = new();

    /// <summary>Iterations k at which the two copies split from one run; 0 splits at initialisation.</summary>
    public IReadOnlyList<int> RewindIterations { get; init; } = [0, 100, 500, 2000];

    /// <summary>Evenly spaced points on the path between the two final networks, end points included.</summary>
    public int Points { get; init; } = 30;

    /// <summary>
    /// Training batches over which a network's batch-normalisation statistics are recomputed at every point of
    /// the path (their plain average, as PyTorch's cumulative moving average gives); unused without batch norm.
    /// </summary>
    public int BatchNormBatches { get; init; } = 30;

    /// <summary>
    /// A ticket's mask (<c>mask.safetensors</c> of a lottery unit) to study instead of the dense network: with
    /// <see cref="TicketStart"/>, the copies train from those weights under this mask. Null: the dense network.
    /// </summary>
    public string? TicketMask { get; init; }

    /// <summary>The weights θₖ the ticket's copies start from (e.g. a lottery run's <c>rewind.safetensors</c>, or a level's <c>init.safetensors</c>).</summary>
    public string? TicketStart { get; init; }

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        Training.Validate();
        Require((TicketMask is null) == (TicketStart is null), "a ticket needs both its mask (--mask) and its starting weights (--start)");
        Require(TicketMask is null || RewindIterations.Count == 1, $"a ticket starts from one θₖ: give the single iteration k it was taken at with --rewind-iterations, not {string.Join(",", RewindIterations)}");
        Require(TicketMask is null || File.Exists(TicketMask), $"ticket mask '{TicketMask}' does not exist");
        Require(TicketStart is null || File.Exists(TicketStart), $"ticket weights '{TicketStart}' do not exist");
        Require(RewindIterations.Count > 0, "give at least one rewind iteration");
        Require(RewindIterations.All(k => k >= 0), $"rewind iterations must be ≥ 0, got {string.Join(",", RewindIterations)}");
        Require(RewindIterations.Distinct().Count() == RewindIterations.Count, $"rewind iterations {string.Join(",", RewindIterations)} repeat a value");
        Require(Points >= 2, $"the path needs at least 2 points (its two ends), got {Points}");
        Require(BatchNormBatches >= 1, $"batch-norm statistics need at least one batch, got {BatchNormBatches}");
    }

    /// <summary>
    /// Short hash naming the run: of the training settings (as <see cref="LotteryConfig"/> names its runs) and the
    /// path's settings. The rewind iterations are left out: running more of them later adds to the same directory.
    /// </summary>
    internal string Hash(string dataFingerprint)
    {
        string text = string.Create(CultureInfo.InvariantCulture, $"experiment=instability\ntraining={Training.Hash(dataFingerprint)}\npoints={Points}\nbn_batches={BatchNormBatches}");
        if (TicketMask is not null && TicketStart is not null)
        {
            // A ticket's run is named by the content of its mask and weights, not by where they lie.
            text += $"\nticket_mask={FileHash(TicketMask)}\nticket_start={FileHash(TicketStart)}";
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];
    }

    /// <summary>The training settings' JSON with this experiment's own settings added.</summary>
    internal string HyperparametersJson(string trainingJson)
    {
        var node = JsonNode.Parse(trainingJson)!.AsObject();
        node["experiment"] = "instability";
        node["rewind_iterations"] = string.Join(",", RewindIterations);
        node["points"] = Points;
        node["bn_batches"] = BatchNormBatches;
        if (TicketMask is not null && TicketStart is not null)
        {
            node["ticket_mask_sha256"] = FileHash(TicketMask);
            node["ticket_start_sha256"] = FileHash(TicketStart);
        }

        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Whether <paramref name="runDirectory"/> holds an instability experiment (its hyperparameters say so).</summary>
    public static bool IsInstabilityRun(string runDirectory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDirectory, "hyperparameters.json")));
            return doc.RootElement.TryGetProperty("experiment", out var e) && e.ValueKind == JsonValueKind.String && e.GetString() == "instability";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return false;
        }
    }

    private static string FileHash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SettingsException(message);
        }
    }
}
