using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// The results of an experiment by branch (<c>lottery</c>, <c>random_reinit</c>, <c>random_prune</c>, ...),
/// each a list of levels; stored as <c>summary.json</c> in the run directory.
/// </summary>
public sealed class ExperimentSummary
{
    /// <summary>Creates a summary from branches (each list ordered by level).</summary>
    public ExperimentSummary(IReadOnlyDictionary<string, IReadOnlyList<LevelPoint>> branches) =>
        Branches = new SortedDictionary<string, IReadOnlyList<LevelPoint>>(branches.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>Branch name to its points, in ordinal name order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<LevelPoint>> Branches { get; }

    /// <summary>The same summary with only the branches <paramref name="keep"/> accepts.</summary>
    public ExperimentSummary Where(Func<string, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        return new ExperimentSummary(Branches.Where(kv => keep(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
    }

    /// <summary>The JSON form: <c>{"branches": {"lottery": [{"level": 0, "weights_remaining": 1.0, ...}]}}</c>.</summary>
    public string ToJson()
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("branches");
            foreach (var (name, points) in Branches)
            {
                w.WriteStartArray(name);
                foreach (var p in points)
                {
                    w.WriteStartObject();
                    w.WriteNumber("level", p.Level);
                    w.WriteNumber("weights_remaining", p.WeightsRemaining);
                    JsonNumbers.Write(w, "test_accuracy", p.TestAccuracy);
                    JsonNumbers.Write(w, "test_accuracy_std", p.TestAccuracyStd);
                    JsonNumbers.Write(w, "early_stop_iteration", p.EarlyStopIteration);
                    JsonNumbers.Write(w, "early_stop_iteration_std", p.EarlyStopIterationStd);
                    JsonNumbers.Write(w, "early_stop_test_accuracy", p.EarlyStopTestAccuracy);
                    JsonNumbers.Write(w, "early_stop_test_accuracy_std", p.EarlyStopTestAccuracyStd);
                    w.WriteNumber("replicates", p.Replicates);
                    w.WriteNumber("diverged", p.Diverged);
                    w.WriteNumber("at_chance", p.AtChance);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>Parses the JSON form; errors name the file's problem.</summary>
    public static ExperimentSummary FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var branches = new Dictionary<string, IReadOnlyList<LevelPoint>>(StringComparer.Ordinal);
            foreach (var branch in doc.RootElement.GetProperty("branches").EnumerateObject())
            {
                var points = new List<LevelPoint>();
                foreach (var e in branch.Value.EnumerateArray())
                {
                    points.Add(new LevelPoint(
                        e.GetProperty("level").GetInt32(),
                        e.GetProperty("weights_remaining").GetDouble(),
                        JsonNumbers.Read(e.GetProperty("test_accuracy")),
                        JsonNumbers.Read(e.GetProperty("test_accuracy_std")),
                        JsonNumbers.Read(e.GetProperty("early_stop_iteration")),
                        JsonNumbers.Read(e.GetProperty("early_stop_iteration_std")),
                        JsonNumbers.Read(e.GetProperty("early_stop_test_accuracy")),
                        JsonNumbers.Read(e.GetProperty("early_stop_test_accuracy_std")),
                        e.GetProperty("replicates").GetInt32(),
                        e.TryGetProperty("diverged", out var d) ? d.GetInt32() : 0,
                        e.TryGetProperty("at_chance", out var c) ? c.GetInt32() : 0));
                }

                branches[branch.Name] = points;
            }

            return new ExperimentSummary(branches);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"summary.json: {e.Message}", e);
        }
    }
}
