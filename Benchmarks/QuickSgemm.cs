using System.Diagnostics;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// A Stopwatch sweep of SGEMM shapes for fast tuning runs (`-- quick`): a few seconds
/// instead of BenchmarkDotNet's minutes, best-of-N timing, less rigorous statistics.
/// </summary>
internal static class QuickSgemm
{
    public static void Run(int threads = 0)
    {
        Sgemm.ThreadLimit = threads;
        double peak1 = FmaPeak.Measure(1), peakAll = FmaPeak.AllCoresGflops;
        Console.WriteLine($"FMA peak at {FmaPeak.WidthName}: 1 thread {peak1:F1} GFLOP/s, {Environment.ProcessorCount} threads {peakAll:F1} GFLOP/s");
        foreach (var shape in SgemmShape.All)
        {
            var data = new SgemmData(shape);
            data.Run();
            long flops = shape.Flops;
            int reps = (int)Math.Clamp(2e9 / flops, 3, 20000);
            double best = double.MaxValue;
            for (int r = 0; r < 5; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++)
                {
                    data.Run();
                }

                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
            }

            double gflops = flops / best / 1e9;
            Console.WriteLine($"{shape.Name,-32} {best * 1e6,10:F1} µs {gflops,8:F1} GFLOP/s {100 * gflops / peakAll,6:F1} %");
        }
    }
}
