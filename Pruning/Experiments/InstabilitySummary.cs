using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>The paths of one rewind iteration, averaged over replicates.</summary>
/// <param name="RewindIteration">The iteration k the copies split at.</param>
/// <param name="Replicates">Replicates whose path is finished.</param>
/// <param name="ErrorBarrier">Mean error barrier (fraction, not percent).</param>
/// <param name="ErrorBarrierStd">Its standard deviation across replicates (0 for one).</param>
/// <param name="LossBarrier">Mean loss barrier.</param>
/// <param name="EndpointError">Mean test error of the two trained copies.</param>
/// <param name="Alphas">Positions on the path.</param>
/// <param name="MeanErrors">Mean test error at each position.</param>
public sealed record InstabilityRow(int RewindIteration, int Replicates, double ErrorBarrier, double ErrorBarrierStd, double LossBarrier, double EndpointError, IReadOnlyList<double> Alphas, IReadOnlyList<double> MeanErrors);

/// <summary>An instability experiment's results by rewind iteration, as <c>summary.json</c> holds them.</summary>
/// <param name="Rows">One row per rewind iteration with a finished path, k increasing.</param>
public sealed record InstabilitySummary(IReadOnlyList<InstabilityRow> Rows)
{
    /// <summary>Averages every finished path (<c>replicate_*/k_*/path.json</c>) under <paramref name="runDirectory"/>.</summary>
    public static InstabilitySummary Read(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"run directory '{runDirectory}' does not exist");
        }

        var paths = Directory.GetDirectories(runDirectory, "replicate_*")
            .SelectMany(d => Directory.GetDirectories(d, "k_*"))
            .Select(d => Path.Combine(d, InstabilityExperiment.PathFile))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal)
            .Select(InstabilityPath.Load)
            .ToList();
        if (paths.Count == 0)
        {
            throw new InvalidDataException($"'{runDirectory}' holds no finished paths (no replicate_*/k_*/{InstabilityExperiment.PathFile})");
        }

        return FromPaths(paths);
    }

    /// <summary>Averages <paramref name="paths"/> by rewind iteration.</summary>
    public static InstabilitySummary FromPaths(IEnumerable<InstabilityPath> paths)
    {
        var rows = paths.GroupBy(p => p.RewindIteration).OrderBy(g => g.Key).Select(g =>
        {
            var list = g.ToList();
            var barriers = list.Select(p => p.ErrorBarrier).ToList();
            var (mean, std) = SampleStatistics.MeanStd(barriers);
            var alphas = list[0].Points.Select(p => p.Alpha).ToList();
            var errors = alphas.Select((_, i) => list.Average(p => p.Points[i].TestError)).ToList();
            double endpoint = list.Average(p => (p.Points[0].TestError + p.Points[^1].TestError) / 2);
            return new InstabilityRow(g.Key, list.Count, mean, std, list.Average(p => p.LossBarrier), endpoint, alphas, errors);
        }).ToList();
        return new InstabilitySummary(rows);
    }

    /// <summary>The summary as indented JSON with fixed key order.</summary>
    public string ToJson()
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("results_version", ResultsFormat.Version);
            w.WriteString("experiment", "instability");
            w.WriteStartArray("rewind_iterations");
            foreach (var r in Rows)
            {
                w.WriteStartObject();
                w.WriteNumber("rewind_iteration", r.RewindIteration);
                w.WriteNumber("replicates", r.Replicates);
                JsonNumbers.Write(w, "error_barrier", r.ErrorBarrier);
                JsonNumbers.Write(w, "error_barrier_std", r.ErrorBarrierStd);
                JsonNumbers.Write(w, "loss_barrier", r.LossBarrier);
                JsonNumbers.Write(w, "endpoint_error", r.EndpointError);
                w.WriteStartArray("path");
                for (int i = 0; i < r.Alphas.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("alpha", r.Alphas[i]);
                    JsonNumbers.Write(w, "test_error", r.MeanErrors[i]);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
