using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>The outcome of training one (replicate, level, branch) of an experiment; <c>result.json</c> in its folder.</summary>
/// <param name="Branch">Branch name (<c>lottery</c>, <c>random_reinit</c>, ...).</param>
/// <param name="Replicate">Replicate index.</param>
/// <param name="Level">Pruning level.</param>
/// <param name="WeightsRemaining">Fraction of prunable weights kept.</param>
/// <param name="LayerWeightsRemaining">Fraction kept per prunable tensor.</param>
/// <param name="Iterations">Training iterations done (fewer than planned when training diverged); a unit rewound to iteration k trains T − k.</param>
/// <param name="TestAccuracy">Test accuracy after the last iteration.</param>
/// <param name="TestLoss">Test loss after the last iteration (NaN when not finite).</param>
/// <param name="EarlyStopIteration">Iteration of minimum validation loss.</param>
/// <param name="EarlyStopValidationLoss">That minimum validation loss (NaN when no validation loss was finite).</param>
/// <param name="EarlyStopTestAccuracy">Test accuracy at that iteration.</param>
public sealed record UnitResult(
    string Branch,
    int Replicate,
    int Level,
    double WeightsRemaining,
    IReadOnlyDictionary<string, double> LayerWeightsRemaining,
    int Iterations,
    double TestAccuracy,
    double TestLoss,
    int EarlyStopIteration,
    double EarlyStopValidationLoss,
    double EarlyStopTestAccuracy)
{
    /// <summary>Outcome of a training that ran to the end and learned something.</summary>
    public const string Trained = "trained";

    /// <summary>Outcome of a training stopped by a non-finite loss or weight.</summary>
    public const string Diverged = "diverged";

    /// <summary>Outcome of a training that finished with finite numbers but no better than always guessing the most common test class.</summary>
    public const string AtChance = "at_chance";

    /// <summary><see cref="Trained"/>, <see cref="Diverged"/> or <see cref="AtChance"/>.</summary>
    public string Outcome { get; init; } = Trained;

    /// <summary>Iteration the unit's training started at: k for a unit rewound to θₖ, else 0.</summary>
    public int StartIteration { get; init; }

    /// <summary>Iteration at which training diverged (0 unless <see cref="Outcome"/> is <see cref="Diverged"/>).</summary>
    public int DivergedAtIteration { get; init; }

    /// <summary>Loss of the last iteration before the divergence (NaN when there was none).</summary>
    public double LastFiniteLoss { get; init; } = double.NaN;

    /// <summary>Files the unit wrote, with their lengths and hashes, checked before a finished unit is reused.</summary>
    public IReadOnlyList<UnitFile> Files { get; init; } = [];

    /// <summary>
    /// Mean loss on the unit's training examples after the last iteration, evaluated in evaluation mode without
    /// augmentation (NaN when not finite, and for results written before version 5, which did not record it).
    /// </summary>
    public double TrainLoss { get; init; } = double.NaN;

    /// <summary>Accuracy on the unit's training examples after the last iteration, as <see cref="TrainLoss"/> (NaN before version 5).</summary>
    public double TrainAccuracy { get; init; } = double.NaN;

    /// <summary>The <see cref="ResultsFormat.Version"/> the unit was written with.</summary>
    public int ResultsVersion { get; init; } = ResultsFormat.Version;

    /// <summary>
    /// JSON with fixed key order (equal results give equal bytes), ending with <c>checksum</c>: the SHA-256 of
    /// everything before it, so that any change to the file is seen when it is read back.
    /// </summary>
    public string ToJson()
    {
        string body = Body();
        string checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        return string.Create(CultureInfo.InvariantCulture, $"{body},\n  \"checksum\": \"{checksum}\"\n}}\n");
    }

    // The object up to (not including) its closing brace; ToJson appends the checksum and closes it.
    private string Body()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("results_version", ResultsVersion);
            w.WriteString("branch", Branch);
            w.WriteNumber("replicate", Replicate);
            w.WriteNumber("level", Level);
            w.WriteString("outcome", Outcome);
            w.WriteNumber("weights_remaining", WeightsRemaining);
            w.WriteStartObject("layer_weights_remaining");
            foreach (var (name, value) in LayerWeightsRemaining.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(name, value);
            }

            w.WriteEndObject();
            w.WriteNumber("start_iteration", StartIteration);
            w.WriteNumber("iterations", Iterations);
            JsonNumbers.Write(w, "test_accuracy", TestAccuracy);
            JsonNumbers.Write(w, "test_loss", TestLoss);
            if (ResultsVersion >= 5)
            {
                JsonNumbers.Write(w, "train_accuracy", TrainAccuracy);
                JsonNumbers.Write(w, "train_loss", TrainLoss);
            }

            w.WriteNumber("early_stop_iteration", EarlyStopIteration);
            JsonNumbers.Write(w, "early_stop_validation_loss", EarlyStopValidationLoss);
            JsonNumbers.Write(w, "early_stop_test_accuracy", EarlyStopTestAccuracy);
            if (Outcome == Diverged)
            {
                w.WriteNumber("diverged_at_iteration", DivergedAtIteration);
                JsonNumbers.Write(w, "last_finite_loss", LastFiniteLoss);
            }

            w.WriteStartArray("files");
            foreach (var f in Files)
            {
                w.WriteStartObject();
                w.WriteString("path", f.Path);
                w.WriteNumber("bytes", f.Length);
                w.WriteString("sha256", f.Sha256);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        string json = Encoding.UTF8.GetString(buffer.ToArray());
        return json[..json.LastIndexOf('}')].TrimEnd();
    }

    /// <summary>
    /// Reads <c>result.json</c> to reuse it. A file that is not valid, was written by another results version,
    /// lacks its checksum, or is not byte for byte what this version writes for its values (any edit, a flipped
    /// bit) is an error naming it.
    /// </summary>
    public static UnitResult Load(string path) => Load(path, verify: true);

    /// <summary>
    /// Reads <c>result.json</c>; with <paramref name="verify"/> false (for reports), also results of earlier
    /// versions, without checking the file's checksum.
    /// </summary>
    public static UnitResult Load(string path, bool verify)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the result file ({e.Message})", e);
        }

        UnitResult result;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var e = doc.RootElement;
            int version = e.TryGetProperty("results_version", out var v) ? v.GetInt32() : 1;
            if (version > ResultsFormat.Version || (verify && version != ResultsFormat.Version))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path}: written by results version {version}, this is version {ResultsFormat.Version}; results of other versions are never mixed (start a new run directory)"));
            }

            string outcome = version == 1 ? Trained : e.GetProperty("outcome").GetString()!;
            if (outcome is not (Trained or Diverged or AtChance))
            {
                throw new FormatException($"unknown outcome '{outcome}'");
            }

            result = new UnitResult(
                e.GetProperty("branch").GetString()!,
                e.GetProperty("replicate").GetInt32(),
                e.GetProperty("level").GetInt32(),
                e.GetProperty("weights_remaining").GetDouble(),
                e.GetProperty("layer_weights_remaining").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
                e.GetProperty("iterations").GetInt32(),
                JsonNumbers.Read(e.GetProperty("test_accuracy")),
                JsonNumbers.Read(e.GetProperty("test_loss")),
                e.GetProperty("early_stop_iteration").GetInt32(),
                JsonNumbers.Read(e.GetProperty("early_stop_validation_loss")),
                JsonNumbers.Read(e.GetProperty("early_stop_test_accuracy")))
            {
                Outcome = outcome,
                StartIteration = version >= 4 ? e.GetProperty("start_iteration").GetInt32() : 0,
                TrainAccuracy = version >= 5 ? JsonNumbers.Read(e.GetProperty("train_accuracy")) : double.NaN,
                TrainLoss = version >= 5 ? JsonNumbers.Read(e.GetProperty("train_loss")) : double.NaN,
                DivergedAtIteration = outcome == Diverged ? e.GetProperty("diverged_at_iteration").GetInt32() : 0,
                LastFiniteLoss = outcome == Diverged ? JsonNumbers.Read(e.GetProperty("last_finite_loss")) : double.NaN,
                Files = version == 1 ? [] : e.GetProperty("files").EnumerateArray().Select(f => new UnitFile(f.GetProperty("path").GetString()!, f.GetProperty("bytes").GetInt64(), f.GetProperty("sha256").GetString()!)).ToList(),
                ResultsVersion = version,
            };
            if (version > 1)
            {
                _ = e.GetProperty("checksum").GetString();
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path}: not a valid result file ({ex.Message})"), ex);
        }

        // Written once and never edited: the canonical form of the values read (checksum included) must be the
        // file itself, and the checksum must cover the values, so no byte can change unnoticed.
        if (verify && !string.Equals(result.ToJson(), text, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: the result file was changed after it was written (its content or checksum does not match)");
        }

        return result;
    }
}
