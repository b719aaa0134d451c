using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>One point on the line between two trained networks: θ = (1 − α)·θ_A + α·θ_B.</summary>
/// <param name="Alpha">Position on the line, 0 (copy A) to 1 (copy B).</param>
/// <param name="TestLoss">Mean test loss there (NaN when not finite).</param>
/// <param name="TestAccuracy">Test accuracy there.</param>
public readonly record struct PathPoint(double Alpha, double TestLoss, double TestAccuracy)
{
    /// <summary>Test error, 1 − accuracy.</summary>
    public double TestError => 1 - TestAccuracy;
}

/// <summary>
/// The path between the two copies trained from θₖ in one replicate (<c>path.json</c> in <c>k_…</c>), with the
/// hashes of the two final weight files it was measured on, so a stale path is recomputed rather than reused.
/// </summary>
/// <param name="Replicate">Replicate index.</param>
/// <param name="RewindIteration">The iteration k the copies split at.</param>
/// <param name="CopyHashes">SHA-256 of copy A's and copy B's <c>final.safetensors</c>.</param>
/// <param name="Points">The points, α increasing from 0 to 1.</param>
public sealed record InstabilityPath(int Replicate, int RewindIteration, IReadOnlyList<string> CopyHashes, IReadOnlyList<PathPoint> Points)
{
    /// <summary>
    /// The error barrier: the highest test error on the path minus the mean of the end points' errors (Frankle et
    /// al. 2020). Near 0 when the two copies lie in one linearly connected basin.
    /// </summary>
    public double ErrorBarrier => Points.Max(p => p.TestError) - ((Points[0].TestError + Points[^1].TestError) / 2);

    /// <summary>The same barrier for the test loss (NaN when a loss on the path is not finite).</summary>
    public double LossBarrier => Points.Any(p => double.IsNaN(p.TestLoss)) ? double.NaN : Points.Max(p => p.TestLoss) - ((Points[0].TestLoss + Points[^1].TestLoss) / 2);

    /// <summary>JSON with fixed key order, ending with a checksum of everything before it.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("results_version", ResultsFormat.Version);
            w.WriteNumber("replicate", Replicate);
            w.WriteNumber("rewind_iteration", RewindIteration);
            w.WriteStartArray("copy_final_sha256");
            foreach (string h in CopyHashes)
            {
                w.WriteStringValue(h);
            }

            w.WriteEndArray();
            JsonNumbers.Write(w, "error_barrier", ErrorBarrier);
            JsonNumbers.Write(w, "loss_barrier", LossBarrier);
            w.WriteStartArray("points");
            foreach (var p in Points)
            {
                w.WriteStartObject();
                w.WriteNumber("alpha", p.Alpha);
                JsonNumbers.Write(w, "test_loss", p.TestLoss);
                JsonNumbers.Write(w, "test_accuracy", p.TestAccuracy);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        string json = Encoding.UTF8.GetString(buffer.ToArray());
        string body = json[..json.LastIndexOf('}')].TrimEnd();
        string checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        return string.Create(CultureInfo.InvariantCulture, $"{body},\n  \"checksum\": \"{checksum}\"\n}}\n");
    }

    /// <summary>
    /// Reads <c>path.json</c>; a file that is not valid, of another results version, or not byte for byte what
    /// its values write (an edit, a flipped bit) is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static InstabilityPath Load(string path)
    {
        string text;
        InstabilityPath result;
        try
        {
            text = File.ReadAllText(path);
            using var doc = JsonDocument.Parse(text);
            var e = doc.RootElement;
            int version = e.GetProperty("results_version").GetInt32();
            if (version != ResultsFormat.Version)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path}: written by results version {version}, this is version {ResultsFormat.Version}"));
            }

            result = new InstabilityPath(
                e.GetProperty("replicate").GetInt32(),
                e.GetProperty("rewind_iteration").GetInt32(),
                e.GetProperty("copy_final_sha256").EnumerateArray().Select(h => h.GetString()!).ToList(),
                e.GetProperty("points").EnumerateArray().Select(p => new PathPoint(p.GetProperty("alpha").GetDouble(), JsonNumbers.Read(p.GetProperty("test_loss")), JsonNumbers.Read(p.GetProperty("test_accuracy")))).ToList());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a valid path file ({ex.Message})", ex);
        }

        if (result.Points.Count < 2 || !string.Equals(result.ToJson(), text, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: the path file was changed after it was written (its content or checksum does not match)");
        }

        return result;
    }
}
