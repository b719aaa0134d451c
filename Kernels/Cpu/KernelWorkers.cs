using System.Diagnostics;

namespace SparseNet.Kernels.Cpu;

/// <summary>A unit of work split into a fixed number of parts, each run once by index.</summary>
internal interface IPartitionedWork
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    void Execute(int part, int parts);
}

/// <summary>A piece of work over an index range, split into contiguous sub-ranges by <see cref="KernelWorkers.RunRanges"/>.</summary>
internal interface IRangeWork
{
    /// <summary>Does the work for indices [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Run(int start, int end);
}

/// <summary>
/// A few persistent worker threads for the CPU kernels. Kernel calls in a training step are
/// tens of microseconds long, so a Parallel.For per call would cost as much as the work: the
/// workers spin on a generation counter after each job (the next kernel call usually comes
/// within microseconds, at most a few hundred later within a step), then, after 2 ms without
/// one, fall back to a blocking wait so an idle process burns no CPU. Parts are claimed from a
/// shared counter rather than assigned to threads, so when a worker is slow to wake (another
/// process holds its core) the caller takes its part too instead of waiting; which thread runs
/// a part never changes what the part computes.
/// </summary>
internal static class KernelWorkers
{
    /// <summary>Threads that run a job's parts, the caller included.</summary>
    public static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>
    /// Parts for a long job whose pieces vary in cost or start late: a few per thread, claimed as threads free up, so
    /// a thread that woke late or ran a slower piece does not leave the others waiting.
    /// </summary>
    public static int BalancedParts => MaxParts == 1 ? 1 : 4 * MaxParts;

    /// <summary>
    /// Parts for a long job of many equal, independent pieces (Winograd's blocks of tiles): small enough that the
    /// thread that finishes last leaves the other waiting for at most 1/16 of its share.
    /// </summary>
    public static int FineParts => MaxParts == 1 ? 1 : MaxPartsPerJob;

    /// <summary>The most parts one job is split into.</summary>
    private const int MaxPartsPerJob = 32;

    // 2 ms. A small step (LeNet-300-100 at batch 60, about 0.55 ms on two cores) has serial stretches of several
    // hundred microseconds between its parallel kernels. With a shorter window (200 µs, and still 1 ms) the worker fell
    // asleep in them, woke late for the next kernel (a VM's idle CPU wakes slowly), left the caller to run every part
    // alone, which lengthened the stretches again: phases of seconds at the one-thread speed (0.95 ms a step).
    private static readonly long SpinTicks = Stopwatch.Frequency / 500;
    private static readonly object Gate = new();
    private static readonly Worker[] Workers = CreateWorkers();

    [ThreadStatic]
    private static bool insideJob;

    // The job being run, or null. Each call gets a job object of its own, with its own claim and pending counters,
    // so a worker that is still claiming from a job that has ended (it woke late) finds that job's parts all taken,
    // whatever job is being set up meanwhile.
    private static Job? current;

    /// <summary>
    /// Splits [0, <paramref name="count"/>) into <paramref name="parts"/> contiguous ranges, fixed by the count and
    /// the number of parts alone, and runs <paramref name="work"/> on each. The kernels that split over independent
    /// planes, channels or blocks use it, so a result never depends on which thread ran a range.
    /// </summary>
    public static void RunRanges<T>(T work, int count, int parts)
        where T : struct, IRangeWork
    {
        parts = Math.Min(Math.Min(parts, MaxPartsPerJob), count);
        if (parts <= 1 || insideJob)
        {
            work.Run(0, count);
            return;
        }

        var job = RangeJob<T>.Cached ??= new RangeJob<T>();
        job.Work = work;
        job.Count = count;
        try
        {
            Run(job, parts);
        }
        finally
        {
            // Drop the pointers the work holds, so nothing refers to memory that is no longer pinned.
            job.Work = default;
        }
    }

    /// <summary>
    /// Runs all parts of <paramref name="work"/> and returns when every part has finished.
    /// Results must not depend on which thread runs a part: if the workers are busy with
    /// another caller's job, this runs every part on the calling thread instead of waiting.
    /// </summary>
    public static void Run(IPartitionedWork work, int parts)
    {
        // A kernel called from inside a part (a convolution running a GEMM per image) runs on its own thread: the
        // workers are taken, and the gate, which the calling thread of the outer job holds, would let it re-enter.
        parts = Math.Min(parts, MaxPartsPerJob);
        if (parts <= 1 || insideJob || !Monitor.TryEnter(Gate))
        {
            for (int p = 0; p < parts; p++)
            {
                work.Execute(p, parts);
            }

            return;
        }

        try
        {
            var running = new Job(work, parts);
            Volatile.Write(ref current, running);
            for (int w = 0; w < Math.Min(parts, MaxParts) - 1; w++)
            {
                Workers[w].Start();
            }

            RunClaimedParts(running);

            var spinner = default(SpinWait);
            while (Volatile.Read(ref running.Pending) != 0)
            {
                spinner.SpinOnce(-1);
            }

            Volatile.Write(ref current, null);
            if (running.Failure is { } e)
            {
                throw new AggregateException("kernel worker failed", e);
            }
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    /// <summary>Claims and runs parts of <paramref name="running"/> until none is left.</summary>
    private static void RunClaimedParts(Job running)
    {
        int part;
        while ((part = Interlocked.Increment(ref running.Next) - 1) < running.Parts)
        {
            try
            {
                insideJob = true;
                running.Work.Execute(part, running.Parts);
            }
#pragma warning disable CA1031 // Any failure is handed to the caller, which rethrows it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                running.Failure = e;
            }
            finally
            {
                insideJob = false;
            }

            Interlocked.Decrement(ref running.Pending);
        }
    }

    private static Worker[] CreateWorkers()
    {
        var workers = new Worker[MaxParts - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker(i + 1);
        }

        return workers;
    }

    // The workers live as long as the process, so their wake events are never disposed.
#pragma warning disable CA1001
    private sealed class Worker
#pragma warning restore CA1001
    {
        private readonly int index;
        private readonly ManualResetEventSlim wake = new(false, 0);
        private int generation;
        private int sleeping;
        private Thread? thread;

        public Worker(int index) => this.index = index;

        public void Start()
        {
            if (thread is null)
            {
                thread = new Thread(Loop) { IsBackground = true, Name = $"SparseNet kernel worker {index}" };
                thread.Start();
            }

            Interlocked.Increment(ref generation);
            if (Interlocked.CompareExchange(ref sleeping, 0, 0) != 0)
            {
                wake.Set();
            }
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                seen = WaitForGeneration(seen);
                if (Volatile.Read(ref current) is { } running)
                {
                    RunClaimedParts(running);
                }
            }
        }

        private int WaitForGeneration(int seen)
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            int g;
            while ((g = Volatile.Read(ref generation)) == seen)
            {
                if (Stopwatch.GetTimestamp() < deadline)
                {
                    Thread.SpinWait(8);
                    continue;
                }

                // Dekker-style handshake with Start: both sides use full fences, so either
                // Start sees sleeping = 1 and sets the event, or we see the new generation.
                wake.Reset();
                Interlocked.Exchange(ref sleeping, 1);
                if (Volatile.Read(ref generation) == seen)
                {
                    wake.Wait();
                }

                Interlocked.Exchange(ref sleeping, 0);
                deadline = Stopwatch.GetTimestamp() + SpinTicks;
            }

            return g;
        }
    }

    /// <summary>One call's work: its parts are claimed from <see cref="Next"/>, and it ends when <see cref="Pending"/> is 0.</summary>
    private sealed class Job(IPartitionedWork work, int parts)
    {
        public readonly IPartitionedWork Work = work;

        public readonly int Parts = parts;

        public int Next;

        public int Pending = parts;

        public Exception? Failure;
    }

    /// <summary>Adapts a range work to the part-by-part interface; one per work type and calling thread.</summary>
    private sealed class RangeJob<T> : IPartitionedWork
        where T : struct, IRangeWork
    {
        [ThreadStatic]
        public static RangeJob<T>? Cached;

        public T Work;

        public int Count;

        public void Execute(int part, int parts) =>
            Work.Run((int)((long)Count * part / parts), (int)((long)Count * (part + 1) / parts));
    }
}
