using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>
/// Measures the FMA throughput of this machine at the widest vector width it accelerates (Vector512,
/// else Vector256, else Vector128: an emulated Vector512 on an AVX2-only CPU would understate the peak
/// and flatter every "% of peak"): 12 independent accumulator chains (more than FMA latency × issue
/// width, so the units never wait on a dependency) with no memory traffic in the loop.
/// </summary>
public static class FmaPeak
{
    /// <summary>Float lanes of the width measured: 16, 8 or 4 (1 without SIMD).</summary>
    public static int Lanes { get; } =
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    /// <summary>The width measured, for reports: <c>Vector512 (AVX-512)</c>, <c>Vector256 (AVX2)</c>, ...</summary>
    public static string WidthName => Lanes switch
    {
        16 => "Vector512 (AVX-512)",
        8 => "Vector256 (AVX2/FMA)",
        4 => "Vector128",
        _ => "scalar",
    };

    /// <summary>FLOPs per <see cref="Chains"/> call: 12 chains × 4 unrolled × iterations FMAs of <see cref="Lanes"/> lanes.</summary>
    public static long FlopsPerCall(long iterations) => iterations * 12 * 4 * Lanes * 2;

    /// <summary>Runs the chains at <see cref="Lanes"/>; returns their sum so the JIT cannot drop the work.</summary>
    public static float Chains(long iterations) => Lanes switch
    {
        16 => Chains<Vector512<float>, Ops512>(iterations),
        8 => Chains<Vector256<float>, Ops256>(iterations),
        4 => Chains<Vector128<float>, Ops128>(iterations),
        _ => Chains<float, OpsScalar>(iterations),
    };

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<TV, TOps>(long iterations)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        TV x = TOps.Create(0.999f), y = TOps.Create(1e-4f);
        TV a0 = TOps.Create(0.0f), a1 = TOps.Create(0.1f), a2 = TOps.Create(0.2f), a3 = TOps.Create(0.3f);
        TV a4 = TOps.Create(0.4f), a5 = TOps.Create(0.5f), a6 = TOps.Create(0.6f), a7 = TOps.Create(0.7f);
        TV a8 = TOps.Create(0.8f), a9 = TOps.Create(0.9f), a10 = TOps.Create(1.0f), a11 = TOps.Create(1.1f);
        for (long i = 0; i < iterations; i++)
        {
            for (int u = 0; u < 4; u++)
            {
                a0 = TOps.Fma(a0, x, y);
                a1 = TOps.Fma(a1, x, y);
                a2 = TOps.Fma(a2, x, y);
                a3 = TOps.Fma(a3, x, y);
                a4 = TOps.Fma(a4, x, y);
                a5 = TOps.Fma(a5, x, y);
                a6 = TOps.Fma(a6, x, y);
                a7 = TOps.Fma(a7, x, y);
                a8 = TOps.Fma(a8, x, y);
                a9 = TOps.Fma(a9, x, y);
                a10 = TOps.Fma(a10, x, y);
                a11 = TOps.Fma(a11, x, y);
            }
        }

        return TOps.Sum(a0) + TOps.Sum(a1) + TOps.Sum(a2) + TOps.Sum(a3) + TOps.Sum(a4) + TOps.Sum(a5)
            + TOps.Sum(a6) + TOps.Sum(a7) + TOps.Sum(a8) + TOps.Sum(a9) + TOps.Sum(a10) + TOps.Sum(a11);
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
