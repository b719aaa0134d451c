namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Optimizer steps at the kept positions of a pruned parameter only, given the CSR structure of its mask
/// (<see cref="SparseRows"/>): the work scales with the kept weights instead of the parameter's length. The Adam step
/// is <see cref="AdamKernel.StepKept"/>; this class holds the SGD step and what the two share.
/// </summary>
public static class SparseSteps
{
    /// <summary>Below this many kept elements a step runs on the calling thread alone.</summary>
    private const int ParallelThreshold = 1 << 14;

    /// <summary>
    /// The SGD step of the CPU backend at the kept positions only, each element with the dense step's operations in
    /// the same order (unfused multiply-adds): g = grad + λθ (λ = 0 adds nothing); with a velocity, v = g on the first
    /// step and μv + g after it, the direction g + μv (Nesterov) or v; θ += −lr·direction.
    /// </summary>
    /// <param name="rowStarts">Where each row's entries start, then the entry count (rows + 1 offsets).</param>
    /// <param name="columns">The column of each entry.</param>
    /// <param name="rowLength">The parameter's length over its rows: the flat position of entry e in row r is r·rowLength + columns[e].</param>
    /// <param name="theta">The parameter, updated in place at the kept positions.</param>
    /// <param name="grad">Its gradient, read at the kept positions.</param>
    /// <param name="velocity">The momentum buffer (empty for plain SGD), updated at the kept positions.</param>
    /// <param name="learningRate">The learning rate.</param>
    /// <param name="momentum">The momentum μ.</param>
    /// <param name="nesterov">Whether the step uses Nesterov momentum.</param>
    /// <param name="weightDecay">L2 weight decay λ.</param>
    /// <param name="firstStep">Whether this is the first step (the velocity starts at g).</param>
    /// <param name="keptValues">Empty, or one float per entry to receive the new θ of each kept element in entry order.</param>
    /// <exception cref="ArgumentException">A length does not match or an entry lies outside the parameter.</exception>
    public static unsafe void Sgd(ReadOnlySpan<int> rowStarts, ReadOnlySpan<int> columns, int rowLength, Span<float> theta, ReadOnlySpan<float> grad, Span<float> velocity,
        float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep, Span<float> keptValues = default)
    {
        int n = theta.Length;
        if (grad.Length != n || (!velocity.IsEmpty && velocity.Length != n) || (!keptValues.IsEmpty && keptValues.Length != columns.Length))
        {
            throw new ArgumentException($"sgd: θ has {n} elements but g {grad.Length}, velocity {velocity.Length}, kept values {keptValues.Length} for {columns.Length} kept");
        }

        int rows = CheckStructure("sgd", rowStarts, columns, rowLength, n);
        fixed (int* starts = rowStarts, cols = columns)
        fixed (float* t = theta, g = grad, v = velocity, kv = keptValues)
        {
            Run(new SgdRows(starts, cols, rowLength, t, g, velocity.IsEmpty ? null : v, keptValues.IsEmpty ? null : kv, new SgdConstants(learningRate, momentum, nesterov, weightDecay, firstStep)), rows, columns.Length);
        }
    }

    /// <summary>Checks a CSR structure against a parameter of <paramref name="length"/> elements; returns its rows.</summary>
    internal static int CheckStructure(string op, ReadOnlySpan<int> rowStarts, ReadOnlySpan<int> columns, int rowLength, int length)
    {
        int rows = rowStarts.Length - 1;
        if (rows < 0 || rowLength < 0 || (long)rows * rowLength != length || rowStarts[rows] != columns.Length)
        {
            throw new ArgumentException($"{op}: a structure of {Math.Max(rows, 0)} rows of {rowLength} with {columns.Length} entries does not fit a parameter of {length} elements");
        }

        return rows;
    }

    /// <summary>
    /// Runs <paramref name="work"/> over the rows, split between threads when there are enough entries. Each element
    /// is updated alone, so the split changes which thread works, never a result.
    /// </summary>
    internal static void Run<T>(T work, int rows, int entries)
        where T : struct, IRangeWork
    {
        if (entries < ParallelThreshold || rows < 2)
        {
            work.Run(0, rows);
            return;
        }

        KernelWorkers.RunRanges(work, rows, KernelWorkers.MaxParts);
    }

    /// <summary>How many kept entries ahead the steps request the cache lines of the element they will update.</summary>
    internal const int PrefetchDistance = 16;

    /// <summary>Requests the cache lines at these addresses (x86 only; elsewhere nothing).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Prefetch(float* a, float* b, float* c, float* d)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(a);
            if (b != null)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(b);
            }
            if (c != null)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(c);
            }

            if (d != null)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(d);
            }
        }
    }

    /// <summary>
    /// Walks the entries of rows [start, end) <see cref="PrefetchDistance"/> entries ahead of a loop over them,
    /// giving the flat position of the entry that far ahead (−1 past the end).
    /// </summary>
    internal unsafe struct Lookahead(int* starts, int* cols, int rowLength, int start, int end)
    {
        private readonly int _last = starts[end];
        private int _row = start;

        public nint Next(int entry)
        {
            int ahead = entry + PrefetchDistance;
            if (ahead >= _last)
            {
                return -1;
            }

            while (ahead >= starts[_row + 1])
            {
                _row++;
            }

            return ((nint)_row * rowLength) + cols[ahead];
        }
    }

    private readonly record struct SgdConstants(float LearningRate, float Momentum, bool Nesterov, float WeightDecay, bool FirstStep);

    private readonly unsafe struct SgdRows(int* starts, int* cols, int rowLength, float* t, float* g, float* v, float* kv, SgdConstants k) : IRangeWork
    {
        public void Run(int start, int end)
        {
            var ahead = new Lookahead(starts, cols, rowLength, start, end);
            for (int r = start; r < end; r++)
            {
                nint row = (nint)r * rowLength;
                for (int e = starts[r]; e < starts[r + 1]; e++)
                {
                    if (ahead.Next(e) is var next and >= 0)
                    {
                        Prefetch(t + next, g + next, v is null ? null : v + next, null);
                    }

                    nint i = row + cols[e];
                    float gi = g[i];
                    if (k.WeightDecay != 0f)
                    {
                        gi = (t[i] * k.WeightDecay) + gi;
                    }

                    float direction = gi;
                    if (v is not null)
                    {
                        float vi = k.FirstStep ? gi : (v[i] * k.Momentum) + gi;
                        v[i] = vi;
                        direction = k.Nesterov ? (vi * k.Momentum) + gi : vi;
                    }

                    t[i] = (direction * -k.LearningRate) + t[i];
                    if (kv != null)
                    {
                        kv[e] = t[i];
                    }
                }
            }
        }
    }
}
