namespace SparseNet.Pruning.Experiments;

/// <summary>Summaries over replicates, the same everywhere a table or a plot shows mean ± standard deviation.</summary>
internal static class SampleStatistics
{
    /// <summary>Mean and sample standard deviation (n − 1): a standard deviation of 0 for one value, NaN for both with none.</summary>
    public static (double Mean, double Std) MeanStd(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var v = values as IReadOnlyList<double> ?? values.ToList();
        if (v.Count == 0)
        {
            return (double.NaN, double.NaN);
        }

        double mean = v.Average();
        return (mean, v.Count < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)));
    }
}
