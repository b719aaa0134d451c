using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>The overlap of tickets level by level, and what the compared tickets differ in.</summary>
/// <param name="Description">Which tickets are compared and how they differ.</param>
/// <param name="Levels">The levels with at least one pair.</param>
public sealed record TicketOverlapSummary(string Description, IReadOnlyList<TicketOverlapLevel> Levels)
{
    /// <summary>
    /// JSON with fixed key order: per level, per layer (and <c>overall</c>) the mean and standard deviation over pairs of
    /// the observed Jaccard index and intersection, and their chance values; each pair's values; each ticket's accuracy.
    /// </summary>
    public string ToJson()
    {
        return JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteString("compared", Description);
            w.WriteStartArray("levels");
            foreach (var level in Levels)
            {
                w.WriteStartObject();
                w.WriteNumber("level", level.Level);
                w.WriteNumber("weights_remaining", level.WeightsRemaining);
                w.WriteStartArray("layers");
                foreach (var row in Rows(level))
                {
                    w.WriteStartObject();
                    w.WriteString("name", row.Name);
                    w.WriteNumber("weights", row.Size);
                    w.WriteNumber("density", row.Density);
                    w.WriteNumber("jaccard", row.Jaccard);
                    w.WriteNumber("jaccard_std", row.JaccardStd);
                    w.WriteNumber("chance_jaccard", row.ChanceJaccard);
                    w.WriteNumber("intersection", row.Intersection);
                    w.WriteNumber("chance_intersection", row.ChanceIntersection);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteStartArray("pairs");
                foreach (var pair in level.Pairs)
                {
                    w.WriteStartObject();
                    w.WriteString("a", pair.A);
                    w.WriteString("b", pair.B);
                    w.WriteStartObject("jaccard");
                    foreach (var l in pair.Layers)
                    {
                        w.WriteNumber(l.Name, l.Jaccard);
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteStartObject("test_accuracy");
                foreach (var (ticket, accuracy) in level.TestAccuracies)
                {
                    JsonNumbers.Write(w, ticket, accuracy);
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>One row per layer (then overall) of a level: the means over its pairs, and the standard deviation of the Jaccard index.</summary>
    public static IReadOnlyList<OverlapRow> Rows(TicketOverlapLevel level)
    {
        ArgumentNullException.ThrowIfNull(level);
        var first = level.Pairs[0].Layers;
        var rows = new List<OverlapRow>();
        for (int i = 0; i < first.Count; i++)
        {
            var layer = level.Pairs.Select(p => p.Layers[i]).ToList();
            var jaccard = layer.Select(l => l.Jaccard).ToList();
            var (mean, std) = SampleStatistics.MeanStd(jaccard);
            rows.Add(new OverlapRow(
                first[i].Name,
                first[i].Size,
                layer.Average(l => (l.DensityA + l.DensityB) / 2),
                layer.Average(l => (double)l.Intersection),
                layer.Average(l => l.ChanceIntersection),
                mean,
                std,
                layer.Average(l => l.ChanceJaccard)));
        }

        return rows;
    }
}
