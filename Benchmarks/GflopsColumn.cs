using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SparseNet.Benchmarks;

/// <summary>
/// GFLOP/s from the mean time and a case's FLOP count, or that rate as a percentage of the
/// all-cores FMA peak that <see cref="FmaPeak.AllCoresGflops"/> measures once in the
/// BenchmarkDotNet host process when the summary is printed (after the runs, so nothing else
/// of ours is running then).
/// </summary>
public sealed class GflopsColumn(bool percentOfPeak, Func<BenchmarkCase, long> flops, Func<double>? peakGflops = null, string? peakName = null) : IColumn
{
    public string Id => percentOfPeak ? "PercentOfFmaPeak" : "GFLOPS";

    public string ColumnName => percentOfPeak ? "% of peak" : "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => percentOfPeak ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => percentOfPeak
        ? peakName is not null ? $"GFLOP/s as a percentage of {peakName}" : $"GFLOP/s as a percentage of the all-cores FMA peak measured in-process by FmaPeak at {FmaPeak.WidthName}"
        : "Floating-point operations per second (2·m·n·k per SGEMM), from the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null)
        {
            return "NA";
        }

        double gflops = flops(benchmarkCase) / stats.Mean; // FLOP per ns = GFLOP/s
        return percentOfPeak
            ? (100 * gflops / (peakGflops?.Invoke() ?? FmaPeak.AllCoresGflops)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)
            : gflops.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
