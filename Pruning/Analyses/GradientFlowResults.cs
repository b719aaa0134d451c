using System.Globalization;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Analyses;

/// <summary>
/// The gradient flow of every finished unit of a run: <c>gradient_flow.json</c> in the run directory, written by
/// <see cref="GradientFlowAnalysis.Run"/> and read by reports.
/// </summary>
/// <param name="Settings">How it was measured.</param>
/// <param name="BatchSize">Examples per batch (the run's batch size).</param>
/// <param name="Units">One entry per unit, in path order.</param>
public sealed record GradientFlowResults(GradientFlowSettings Settings, int BatchSize, IReadOnlyList<GradientFlowUnit> Units)
{
    /// <summary>The file's name in the run directory.</summary>
    public const string FileName = "gradient_flow.json";

    private const string Format = "sparsenet-gradient-flow";
    private const int FormatVersion = 1;

    /// <summary>JSON with fixed key order; equal results give equal bytes. Numbers that are not finite are null.</summary>
    public string ToJson()
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", FormatVersion);
            w.WriteNumber("batches", Settings.Batches);
            w.WriteNumber("batch_size", BatchSize);
            w.WriteNumber("step", Settings.Step);
            w.WriteNumber("seed", Settings.Seed);
            w.WriteString("dense_gradient", "gradient of the mean training loss at the masked weights m*theta with respect to every weight, pruned ones included; unmasked parameters (biases, batch norm) count as kept");
            w.WriteStartArray("units");
            foreach (var u in Units)
            {
                var m = u.Measure;
                w.WriteStartObject();
                w.WriteString("path", u.Path);
                w.WriteString("branch", u.Branch);
                w.WriteNumber("replicate", u.Replicate);
                w.WriteNumber("level", u.Level);
                w.WriteNumber("weights_remaining", u.WeightsRemaining);
                JsonNumbers.Write(w, "test_accuracy", u.TestAccuracy);
                w.WriteString("init_sha256", u.InitSha256);
                w.WriteString("mask_sha256", u.MaskSha256);
                w.WriteNumber("examples", m.Examples);
                JsonNumbers.Write(w, "loss", m.Loss);
                JsonNumbers.Write(w, "dense_gradient_norm", m.DenseGradientNorm);
                JsonNumbers.Write(w, "masked_gradient_norm", m.MaskedGradientNorm);
                JsonNumbers.Write(w, "cosine", m.Cosine);
                JsonNumbers.Write(w, "prunable_cosine", m.PrunableCosine);
                JsonNumbers.Write(w, "norm_ratio", m.NormRatio);
                JsonNumbers.Write(w, "predicted_progress_ratio", m.PredictedProgressRatio);
                JsonNumbers.Write(w, "dense_step_loss", m.DenseStepLoss);
                JsonNumbers.Write(w, "sparse_step_loss", m.SparseStepLoss);
                JsonNumbers.Write(w, "measured_progress_ratio", m.MeasuredProgressRatio);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Reads <c>gradient_flow.json</c> from <paramref name="runDirectory"/>; null when there is none. A file that is not
    /// one is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static GradientFlowResults? Read(string runDirectory)
    {
        string path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var e = doc.RootElement;
            if (e.GetProperty("format").GetString() != Format)
            {
                throw new FormatException($"format is not '{Format}'");
            }

            int version = e.GetProperty("version").GetInt32();
            if (version != FormatVersion)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"written in version {version} of the file, this is version {FormatVersion}; run `sparsenet analyze gradient-flow` again"));
            }

            var settings = new GradientFlowSettings
            {
                Batches = e.GetProperty("batches").GetInt32(),
                Step = e.GetProperty("step").GetDouble(),
                Seed = e.GetProperty("seed").GetUInt64(),
            };
            var units = e.GetProperty("units").EnumerateArray().Select(u => new GradientFlowUnit(
                u.GetProperty("path").GetString()!,
                u.GetProperty("branch").GetString()!,
                u.GetProperty("replicate").GetInt32(),
                u.GetProperty("level").GetInt32(),
                u.GetProperty("weights_remaining").GetDouble(),
                JsonNumbers.Read(u.GetProperty("test_accuracy")),
                u.GetProperty("init_sha256").GetString()!,
                u.GetProperty("mask_sha256").GetString()!,
                new GradientFlowMeasure(
                    u.GetProperty("examples").GetInt32(),
                    JsonNumbers.Read(u.GetProperty("loss")),
                    JsonNumbers.Read(u.GetProperty("dense_gradient_norm")),
                    JsonNumbers.Read(u.GetProperty("masked_gradient_norm")),
                    JsonNumbers.Read(u.GetProperty("cosine")),
                    JsonNumbers.Read(u.GetProperty("norm_ratio")),
                    JsonNumbers.Read(u.GetProperty("predicted_progress_ratio")),
                    settings.Step,
                    JsonNumbers.Read(u.GetProperty("dense_step_loss")),
                    JsonNumbers.Read(u.GetProperty("sparse_step_loss")),
                    JsonNumbers.Read(u.GetProperty("measured_progress_ratio")),
                    JsonNumbers.Read(u.GetProperty("prunable_cosine"))))).ToList();
            return new GradientFlowResults(settings, e.GetProperty("batch_size").GetInt32(), units);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"'{path}': not a gradient-flow file ({ex.Message})", ex);
        }
    }
}
