using System.Globalization;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>One replicate of a supermask experiment: the learned supermask beside the random mask on the same frozen weights.</summary>
/// <param name="Replicate">Replicate index.</param>
/// <param name="Supermask">The learned supermask's unit, or null while it is not finished.</param>
/// <param name="RandomMask">The random mask's unit, or null while it is not finished.</param>
public sealed record SupermaskRow(int Replicate, UnitResult? Supermask, UnitResult? RandomMask);

/// <summary>A supermask experiment's results, as <c>summary.json</c> holds them.</summary>
/// <param name="Model">Architecture.</param>
/// <param name="Data">Dataset.</param>
/// <param name="Density">Fraction of each layer's weights the masks keep.</param>
/// <param name="Weights">The frozen weights (<c>signed-constant</c> or <c>kaiming-normal</c>).</param>
/// <param name="Rows">One row per replicate with a finished unit, in replicate order.</param>
/// <param name="Curve">Mean test accuracy of the supermask over the finished replicates, by iteration (iterations all of them evaluated).</param>
public sealed record SupermaskSummary(string Model, string Data, double Density, string Weights, IReadOnlyList<SupermaskRow> Rows, IReadOnlyList<(int Iteration, double TestAccuracy)> Curve)
{
    /// <summary>Test accuracies of the finished learned supermasks, in replicate order.</summary>
    public IReadOnlyList<double> SupermaskAccuracies => Rows.Where(r => r.Supermask is not null).Select(r => r.Supermask!.TestAccuracy).ToList();

    /// <summary>Test accuracies of the finished random masks, in replicate order.</summary>
    public IReadOnlyList<double> RandomMaskAccuracies => Rows.Where(r => r.RandomMask is not null).Select(r => r.RandomMask!.TestAccuracy).ToList();

    /// <summary>Reads every finished unit under <paramref name="runDirectory"/> and its hyperparameters.</summary>
    public static SupermaskSummary Read(string runDirectory)
    {
        var results = LotteryExperiment.Results(runDirectory);
        string model = string.Empty, data = string.Empty, weights = string.Empty;
        double density = double.NaN;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDirectory, "hyperparameters.json")));
            var e = doc.RootElement;
            model = e.GetProperty("model").GetString() ?? string.Empty;
            data = e.GetProperty("data").GetString() ?? string.Empty;
            density = e.GetProperty("density").GetDouble();
            weights = e.GetProperty("weights").GetString() ?? string.Empty;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{runDirectory}': cannot read the supermask settings in hyperparameters.json ({ex.Message})", ex);
        }

        var rows = results.GroupBy(r => r.Replicate).OrderBy(g => g.Key).Select(g => new SupermaskRow(
            g.Key,
            g.FirstOrDefault(u => u.Branch == SupermaskExperiment.SupermaskBranch),
            g.FirstOrDefault(u => u.Branch == SupermaskExperiment.RandomMaskBranch))).ToList();
        var curves = rows.Where(r => r.Supermask is not null)
            .Select(r => ReadCurve(Path.Combine(runDirectory, $"replicate_{r.Replicate.ToString(CultureInfo.InvariantCulture)}", SupermaskExperiment.SupermaskBranch, "metrics.jsonl")))
            .ToList();
        var shared = curves.Count == 0 ? [] : curves.Skip(1).Aggregate(curves[0].Keys.ToHashSet(), (keys, c) => { keys.IntersectWith(c.Keys); return keys; });
        var curve = shared.Order().Select(i => (i, curves.Average(c => c[i]))).ToList();
        return new SupermaskSummary(model, data, density, weights, rows, curve);
    }

    /// <summary>The summary as indented JSON with fixed key order.</summary>
    public string ToJson()
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("results_version", ResultsFormat.Version);
            w.WriteString("experiment", "supermask");
            w.WriteString("model", Model);
            w.WriteString("data", Data);
            JsonNumbers.Write(w, "density", Density);
            w.WriteString("weights", Weights);
            var (sm, ss) = SampleStatistics.MeanStd(SupermaskAccuracies);
            var (rm, rs) = SampleStatistics.MeanStd(RandomMaskAccuracies);
            JsonNumbers.Write(w, "supermask_test_accuracy_mean", sm);
            JsonNumbers.Write(w, "supermask_test_accuracy_std", ss);
            JsonNumbers.Write(w, "random_mask_test_accuracy_mean", rm);
            JsonNumbers.Write(w, "random_mask_test_accuracy_std", rs);
            w.WriteStartArray("replicates");
            foreach (var r in Rows)
            {
                w.WriteStartObject();
                w.WriteNumber("replicate", r.Replicate);
                JsonNumbers.Write(w, "supermask_test_accuracy", r.Supermask?.TestAccuracy ?? double.NaN);
                JsonNumbers.Write(w, "random_mask_test_accuracy", r.RandomMask?.TestAccuracy ?? double.NaN);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("supermask_curve");
            foreach (var (iteration, accuracy) in Curve)
            {
                w.WriteStartObject();
                w.WriteNumber("iteration", iteration);
                JsonNumbers.Write(w, "test_accuracy", accuracy);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static Dictionary<int, double> ReadCurve(string metricsPath)
    {
        var curve = new Dictionary<int, double>();
        if (!File.Exists(metricsPath))
        {
            return curve;
        }

        foreach (string line in File.ReadLines(metricsPath).Where(l => l.Length > 0))
        {
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            curve[e.GetProperty("iteration").GetInt32()] = JsonNumbers.Read(e.GetProperty("test_accuracy"));
        }

        return curve;
    }
}
