using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Benchmarks;

/// <summary>
/// Measures the FMA throughput of this machine: 12 independent Vector512 accumulator
/// chains (more than FMA latency × issue width, so the units never wait on a dependency)
/// with no memory traffic in the loop.
/// </summary>
public static class FmaPeak
{
    /// <summary>FMA instructions per <see cref="Chains"/> call: 12 chains × 4 unrolled × iterations.</summary>
    public static long FlopsPerCall(long iterations) => iterations * 12 * 4 * 16 * 2;

    /// <summary>Runs the chains; returns their sum so the JIT cannot drop the work.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static float Chains(long iterations)
    {
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(1e-4f);
        Vector512<float> a0 = Vector512.Create(0.0f), a1 = Vector512.Create(0.1f), a2 = Vector512.Create(0.2f), a3 = Vector512.Create(0.3f);
        Vector512<float> a4 = Vector512.Create(0.4f), a5 = Vector512.Create(0.5f), a6 = Vector512.Create(0.6f), a7 = Vector512.Create(0.7f);
        Vector512<float> a8 = Vector512.Create(0.8f), a9 = Vector512.Create(0.9f), a10 = Vector512.Create(1.0f), a11 = Vector512.Create(1.1f);
        for (long i = 0; i < iterations; i++)
        {
            for (int u = 0; u < 4; u++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, x, y);
                a1 = Vector512.FusedMultiplyAdd(a1, x, y);
                a2 = Vector512.FusedMultiplyAdd(a2, x, y);
                a3 = Vector512.FusedMultiplyAdd(a3, x, y);
                a4 = Vector512.FusedMultiplyAdd(a4, x, y);
                a5 = Vector512.FusedMultiplyAdd(a5, x, y);
                a6 = Vector512.FusedMultiplyAdd(a6, x, y);
                a7 = Vector512.FusedMultiplyAdd(a7, x, y);
                a8 = Vector512.FusedMultiplyAdd(a8, x, y);
                a9 = Vector512.FusedMultiplyAdd(a9, x, y);
                a10 = Vector512.FusedMultiplyAdd(a10, x, y);
                a11 = Vector512.FusedMultiplyAdd(a11, x, y);
            }
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>Runs the chains on <paramref name="threads"/> threads at once.</summary>
    public static float Parallel(int threads, long iterations)
    {
        // Dedicated threads released together: Parallel.For may run both iterations on one
        // thread when the pool is slow to start a second, which would understate the peak.
        var sums = new float[threads];
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                sums[id] = Chains(iterations);
            });
            workers[t].Start();
        }

        foreach (var w in workers)
        {
            w.Join();
        }

        return sums.Sum();
    }

    private static double? cachedAllCores;

    /// <summary>
    /// Peak GFLOP/s on all cores, measured once per process by a short probe (best of five
    /// ~40 ms runs of <see cref="Chains"/> on every core); used for the "% of peak" column.
    /// </summary>
    public static double AllCoresGflops => cachedAllCores ??= Measure(Environment.ProcessorCount);

    /// <summary>Best of five short runs on <paramref name="threads"/> threads, in GFLOP/s.</summary>
    public static double Measure(int threads)
    {
        const long iterations = 100_000;
        Parallel(threads, iterations / 10);
        double best = 0;
        for (int r = 0; r < 5; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Parallel(threads, iterations);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            best = Math.Max(best, FlopsPerCall(iterations) * threads / seconds / 1e9);
        }

        return best;
    }
}
