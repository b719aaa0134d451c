using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SparseNet.Pruning.Experiments;

/// <summary>The outcome of training one (replicate, level, branch) of an experiment; <c>result.json</c> in its folder.</summary>
/// <param name="Branch">Branch name (<c>lottery</c>, <c>random_reinit</c>, ...).</param>
/// <param name="Replicate">Replicate index.</param>
/// <param name="Level">Pruning level.</param>
/// <param name="WeightsRemaining">Fraction of prunable weights kept.</param>
/// <param name="LayerWeightsRemaining">Fraction kept per prunable tensor.</param>
/// <param name="Iterations">Training iterations.</param>
/// <param name="TestAccuracy">Test accuracy after the last iteration.</param>
/// <param name="TestLoss">Test loss after the last iteration.</param>
/// <param name="EarlyStopIteration">Iteration of minimum validation loss.</param>
/// <param name="EarlyStopValidationLoss">That minimum validation loss.</param>
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
    /// <summary>JSON with fixed key order (equal results give equal bytes).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("branch", Branch);
            w.WriteNumber("replicate", Replicate);
            w.WriteNumber("level", Level);
            w.WriteNumber("weights_remaining", WeightsRemaining);
            w.WriteStartObject("layer_weights_remaining");
            foreach (var (name, value) in LayerWeightsRemaining.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(name, value);
            }

            w.WriteEndObject();
            w.WriteNumber("iterations", Iterations);
            w.WriteNumber("test_accuracy", TestAccuracy);
            w.WriteNumber("test_loss", TestLoss);
            w.WriteNumber("early_stop_iteration", EarlyStopIteration);
            w.WriteNumber("early_stop_validation_loss", EarlyStopValidationLoss);
            w.WriteNumber("early_stop_test_accuracy", EarlyStopTestAccuracy);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Reads <c>result.json</c>; a damaged file is an error naming it.</summary>
    public static UnitResult Load(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var e = doc.RootElement;
            return new UnitResult(
                e.GetProperty("branch").GetString()!,
                e.GetProperty("replicate").GetInt32(),
                e.GetProperty("level").GetInt32(),
                e.GetProperty("weights_remaining").GetDouble(),
                e.GetProperty("layer_weights_remaining").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
                e.GetProperty("iterations").GetInt32(),
                e.GetProperty("test_accuracy").GetDouble(),
                e.GetProperty("test_loss").GetDouble(),
                e.GetProperty("early_stop_iteration").GetInt32(),
                e.GetProperty("early_stop_validation_loss").GetDouble(),
                e.GetProperty("early_stop_test_accuracy").GetDouble());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path}: not a valid result file ({ex.Message})"), ex);
        }
    }
}
