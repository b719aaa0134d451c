using System.Text;
using System.Text.Json;

namespace SparseNet.Reporting;

/// <summary>
/// Says what the transfer branches of a run are (<c>transfer_ID</c>, <c>transfer_ID_random</c>), from the records
/// <c>transfer_ID.json</c> that <c>lottery --transfer-from</c> keeps in the run directory.
/// </summary>
public static class TransferLegend
{
    /// <summary>One line per transferred source, or an empty string when the run has none.</summary>
    public static string Format(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        var text = new StringBuilder();
        foreach (string path in Directory.GetFiles(runDirectory, "transfer_*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                var e = doc.RootElement;
                string S(string key) => e.GetProperty(key).GetString() ?? string.Empty;
                text.Append($"{S("ticket_branch")}: tickets of {S("source")} ({S("source_model")} on {S("source_data")}, seed {S("source_seed")}+r), replicate r's mask and θ₀, trained on this run's data; ")
                    .Append($"{S("random_branch")}: random masks of the same per-layer densities on the same θ₀ (the SHA-256 of every mask and θ₀ used: {Path.GetFileName(path)})\n");
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
            {
                text.Append($"{Path.GetFileName(path)}: not a readable transfer record ({ex.Message})\n");
            }
        }

        return text.ToString();
    }
}
