using System.Text.Json;
using SparseNet.Engine.IO;
using SparseNet.Engine.Training;

namespace SparseNet.Cli.Commands;

/// <summary>Writes <c>summary.json</c> of a training run with a fixed key order, so equal runs give equal bytes.</summary>
internal static class TrainSummary
{
    /// <summary>The summary; numbers that are not finite are written as null, so the file is always valid JSON.</summary>
    public static string ToJson(TrainingRecipe s, ulong seed, EvalResult final, int iterations, double seconds, IReadOnlyList<EpochResult> history, string outcome, Divergence? divergence)
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteString("outcome", outcome);
            JsonNumbers.Write(w, "test_accuracy", final.Accuracy);
            JsonNumbers.Write(w, "test_loss", final.Loss);
            if (divergence is not null)
            {
                w.WriteNumber("diverged_at_iteration", divergence.Iteration);
                w.WriteString("diverged_on", divergence.Cause);
                JsonNumbers.Write(w, "last_finite_loss", divergence.LastFiniteLoss ?? double.NaN);
            }

            w.WriteNumber("epochs", s.Epochs);
            w.WriteNumber("iterations", iterations);
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WriteNumber("seed", seed);
            w.WriteString("model", s.Model);
            w.WriteString("data", s.Data);
            w.WriteString("optimizer", s.Optimizer);
            w.WriteNumber("lr", s.LearningRate);
            w.WriteNumber("batch_size", s.BatchSize);
            w.WriteString("init", s.Init.ToString());

            // Written only when set, so a summary of the default recipe reads as before.
            if (s.TrainExamples > 0)
            {
                w.WriteNumber("train_examples", s.TrainExamples);
            }

            if (s.Augment is { } augment)
            {
                w.WriteBoolean("augment", augment);
            }
            w.WriteStartArray("history");
            foreach (var e in history)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", e.Epoch);
                w.WriteNumber("iteration", e.Iteration);
                JsonNumbers.Write(w, "train_loss", e.TrainLoss);
                JsonNumbers.Write(w, "test_loss", e.Test.Loss);
                JsonNumbers.Write(w, "test_accuracy", e.Test.Accuracy);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
