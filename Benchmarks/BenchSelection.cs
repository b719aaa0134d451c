namespace SparseNet.Benchmarks;

/// <summary>
/// Narrows a benchmark's parameter list from the environment, so one run can measure the few cases it is about:
/// <c>SPARSENET_BENCH_LAYERS</c> keeps the layers whose name contains any of its comma-separated parts,
/// <c>SPARSENET_BENCH_SPARSITIES</c> the listed sparsities.
/// </summary>
internal static class BenchSelection
{
    public static IEnumerable<string> Layers(params string[] all) =>
        Environment.GetEnvironmentVariable("SPARSENET_BENCH_LAYERS") is { Length: > 0 } only
            ? all.Where(l => only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Any(o => l.Contains(o, StringComparison.Ordinal)))
            : all;

    public static IEnumerable<int> Sparsities(params int[] all) =>
        Environment.GetEnvironmentVariable("SPARSENET_BENCH_SPARSITIES") is { Length: > 0 } only
            ? all.Where(s => only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(s.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            : all;
}
