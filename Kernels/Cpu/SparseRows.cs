using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// A sparse matrix in compressed sparse row (CSR) form: the kept positions of a 0/1 mask of shape
/// [<see cref="Rows"/>, <see cref="Columns"/>] and one value per kept position. The structure is built once per mask;
/// the values are refreshed from the dense weight (<see cref="LoadValues"/>) after every optimizer step without
/// rebuilding it. <see cref="Transpose"/> gives the CSR form of the transposed matrix (the CSC form of this one),
/// which the input gradient of a sparse linear layer runs on.
/// </summary>
/// <remarks>
/// Entries are stored row by row, each row in increasing column order, so a row's products are always summed in the
/// same order. The structure also fixes how the kernels of <see cref="SparseLinear"/> split the rows between threads
/// (<see cref="PartStarts"/>), from the entry counts alone.
/// </remarks>
public sealed unsafe class SparseRows
{
    /// <summary>Rows per group: parts start at multiples of it, so the output transposes work on whole blocks.</summary>
    internal const int RowGroup = 16;

    /// <summary>The most parts the rows are split into, whatever the number of threads.</summary>
    internal const int MaxParts = 32;

    private readonly int[] rowStarts;
    private readonly int[] columnIndices;
    private readonly float[] values;
    private readonly int[] sourceSlots;
    private readonly int[] partStarts;

    private SparseRows(int rows, int columns, int[] rowStarts, int[] columnIndices, int[] sourceSlots)
    {
        Rows = rows;
        Columns = columns;
        this.rowStarts = rowStarts;
        this.columnIndices = columnIndices;
        this.sourceSlots = sourceSlots;
        values = new float[columnIndices.Length];
        partStarts = Partition(rowStarts, rows);
    }

    /// <summary>Rows of the matrix.</summary>
    public int Rows { get; }

    /// <summary>Columns of the matrix.</summary>
    public int Columns { get; }

    /// <summary>Kept entries (nonzeros of the mask).</summary>
    public int Count => columnIndices.Length;

    /// <summary>The fraction of positions kept, 0 to 1 (0 for an empty shape).</summary>
    public double Density => Rows == 0 || Columns == 0 ? 0 : (double)Count / ((long)Rows * Columns);

    /// <summary>Where each row's entries start in <see cref="ColumnIndices"/> and <see cref="Values"/>, and, last, <see cref="Count"/>: <see cref="Rows"/> + 1 offsets.</summary>
    public ReadOnlySpan<int> RowStarts => rowStarts;

    /// <summary>The column of each entry, increasing within a row.</summary>
    public ReadOnlySpan<int> ColumnIndices => columnIndices;

    /// <summary>The value of each entry, in entry order; writable, so a caller may keep the weights here directly.</summary>
    public Span<float> Values => values;

    /// <summary>
    /// For a matrix made by <see cref="Transpose"/>: the slot of each entry in the source matrix's entries (entry e here
    /// is entry <c>SourceSlots[e]</c> there). Empty for a matrix built from a mask.
    /// </summary>
    public ReadOnlySpan<int> SourceSlots => sourceSlots;

    /// <summary>The first row of each part the kernels split the rows into, then <see cref="Rows"/>: multiples of 16 chosen from the entry counts alone.</summary>
    internal ReadOnlySpan<int> PartStarts => partStarts;

    /// <summary>The number of parts in <see cref="PartStarts"/>.</summary>
    internal int PartCount => partStarts.Length - 1;

    /// <summary>Builds the structure of the positions where <paramref name="mask"/> is nonzero; the values start at 0.</summary>
    /// <param name="mask">The mask, row-major [<paramref name="rows"/>, <paramref name="columns"/>]; any nonzero keeps a position.</param>
    /// <param name="rows">Rows of the mask.</param>
    /// <param name="columns">Columns of the mask.</param>
    /// <returns>The CSR structure of the mask.</returns>
    /// <exception cref="ArgumentException">A dimension is negative or the mask's length is not rows·columns.</exception>
    public static SparseRows FromMask(ReadOnlySpan<float> mask, int rows, int columns)
    {
        if (rows < 0 || columns < 0)
        {
            throw new ArgumentException($"sparse rows: dimensions must be non-negative, got [{rows},{columns}]");
        }

        if (mask.Length != (long)rows * columns)
        {
            throw new ArgumentException($"sparse rows: mask has {mask.Length} elements, expected {(long)rows * columns} for [{rows},{columns}]");
        }

        var starts = new int[rows + 1];
        int count = 0;
        for (int r = 0; r < rows; r++)
        {
            starts[r] = count;
            foreach (float m in mask.Slice(r * columns, columns))
            {
                count += m != 0f ? 1 : 0;
            }
        }

        starts[rows] = count;
        var indices = new int[count];
        int e = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = mask.Slice(r * columns, columns);
            for (int c = 0; c < columns; c++)
            {
                if (row[c] != 0f)
                {
                    indices[e++] = c;
                }
            }
        }

        return new SparseRows(rows, columns, starts, indices, []);
    }

    /// <summary>Copies the value at each kept position of <paramref name="dense"/> into <see cref="Values"/>.</summary>
    /// <param name="dense">The dense matrix, row-major [<see cref="Rows"/>, <see cref="Columns"/>].</param>
    /// <exception cref="ArgumentException">The length of <paramref name="dense"/> is not rows·columns.</exception>
    public void LoadValues(ReadOnlySpan<float> dense) => Gather(dense, values);

    /// <summary>Copies the value at each kept position of <paramref name="dense"/> into <paramref name="target"/>, in entry order.</summary>
    /// <param name="dense">The dense matrix, row-major [<see cref="Rows"/>, <see cref="Columns"/>].</param>
    /// <param name="target">One float per entry.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public void Gather(ReadOnlySpan<float> dense, Span<float> target)
    {
        CheckDense("dense", dense.Length);
        if (target.Length != Count)
        {
            throw new ArgumentException($"sparse rows: a target of {target.Length} values for {Count} entries");
        }

        if (Count == 0)
        {
            return;
        }

        // A wide layer streams its whole dense weight here every step: the parts share the reads, and each writes
        // only its own entries, so the copy is the same whoever runs it.
        fixed (int* rs = rowStarts, ci = columnIndices, ps = partStarts)
        fixed (float* v = target, d = dense)
        {
            KernelWorkers.RunRanges(new GatherWork(rs, ci, ps, d, Columns, v), PartCount, ParallelParts());
        }
    }

    /// <summary>
    /// Copies the values of <paramref name="source"/> into this matrix's entries through <see cref="SourceSlots"/>: for a
    /// transpose, refreshes its values after the source's have changed.
    /// </summary>
    /// <param name="source">The matrix this one was transposed from (or one with the same structure).</param>
    /// <exception cref="ArgumentException">This matrix was not made by <see cref="Transpose"/>, or the source has another shape or entry count.</exception>
    public void LoadValuesFrom(SparseRows source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (sourceSlots.Length != Count || source.Count != Count || source.Rows != Columns || source.Columns != Rows)
        {
            throw new ArgumentException(
                $"sparse rows: cannot load [{Rows},{Columns}] with {Count} entries ({sourceSlots.Length} source slots) from [{source.Rows},{source.Columns}] with {source.Count} entries");
        }

        if (Count == 0)
        {
            return;
        }

        fixed (int* rs = rowStarts, slots = sourceSlots, ps = partStarts)
        fixed (float* v = values, from = source.values)
        {
            KernelWorkers.RunRanges(new SlotGatherWork(rs, slots, ps, from, v, Count), PartCount, ParallelParts());
        }
    }

    /// <summary>
    /// Writes <paramref name="entryValues"/> at their positions in <paramref name="dense"/>, or adds them there with
    /// <paramref name="add"/>, leaving every other element as it is (for a dense matrix already zero where pruned).
    /// </summary>
    /// <param name="entryValues">One value per entry, in entry order.</param>
    /// <param name="dense">The dense matrix, row-major [<see cref="Rows"/>, <see cref="Columns"/>].</param>
    /// <param name="add">Whether to add to the values there instead of replacing them.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public void ScatterKept(ReadOnlySpan<float> entryValues, Span<float> dense, bool add)
    {
        if (entryValues.Length != Count)
        {
            throw new ArgumentException($"sparse rows: {entryValues.Length} values for {Count} entries");
        }

        CheckDense("dense", dense.Length);
        if (Count == 0)
        {
            return;
        }

        // The writes land all over a matrix that is mostly out of cache: the parts share the misses, and each writes only
        // its own rows, so the result is the same whoever runs it.
        fixed (int* rs = rowStarts, ci = columnIndices, ps = partStarts)
        fixed (float* v = entryValues, d = dense)
        {
            KernelWorkers.RunRanges(new ScatterKeptWork(rs, ci, ps, v, d, Columns, add), PartCount, ParallelParts());
        }
    }

    /// <summary>
    /// Writes <paramref name="entryValues"/> at their positions in <paramref name="dense"/>, which must hold zeros at every
    /// other position already: the dense form of the values, as <see cref="Scatter"/> writes it. A large matrix whose
    /// kept positions fall on most of its cache lines is written whole with streaming stores (each line written once, not
    /// read in first); otherwise only the kept positions are written (<see cref="ScatterKept"/>).
    /// </summary>
    /// <param name="entryValues">One value per entry, in entry order.</param>
    /// <param name="dense">The dense matrix, row-major [<see cref="Rows"/>, <see cref="Columns"/>], zero where pruned.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public void WriteKept(ReadOnlySpan<float> entryValues, Span<float> dense)
    {
        if ((long)Rows * Columns >= StreamFloats && Density >= StreamDensity && Avx.IsSupported && Columns >= 64)
        {
            Scatter(entryValues, dense);
        }
        else
        {
            ScatterKept(entryValues, dense, add: false);
        }
    }

    /// <summary>
    /// The density from which <see cref="WriteKept"/> streams a large matrix whole: at 5% about 56% of the 16-float
    /// lines hold a kept position, and writing those alone reads each of them in and writes it back, more traffic than
    /// streaming every line out once.
    /// </summary>
    private const double StreamDensity = 0.05;

    /// <summary>Rows of some parts of <see cref="ScatterKept"/>, each row's later lines asked for ahead of the writes.</summary>
    private readonly struct ScatterKeptWork(int* rowStarts, int* columns, int* partStarts, float* values, float* dense, nint stride, bool add) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int last = rowStarts[partStarts[end]];
            for (int r = partStarts[start]; r < partStarts[end]; r++)
            {
                float* row = dense + (r * stride);
                int e = rowStarts[r], rowEnd = rowStarts[r + 1];
                for (; e < rowEnd; e++)
                {
                    if (Sse.IsSupported && e + PrefetchEntries < last)
                    {
                        Sse.Prefetch0(dense + EntryOffset(e + PrefetchEntries, r, rowEnd));
                    }

                    row[columns[e]] = add ? row[columns[e]] + values[e] : values[e];
                }
            }
        }

        /// <summary>Where entry <paramref name="e"/> lies, for an entry of row <paramref name="r"/> (ending at <paramref name="rowEnd"/>) or of the next row that has entries.</summary>
        private nint EntryOffset(int e, int r, int rowEnd)
        {
            while (e >= rowEnd)
            {
                rowEnd = rowStarts[++r + 1];
            }

            return (r * stride) + columns[e];
        }
    }

    /// <summary>How many entries ahead the kept-only scatter asks for the lines it will touch.</summary>
    private const int PrefetchEntries = 16;

    /// <summary>Writes the dense form of <paramref name="entryValues"/>: each entry's value at its position, 0 everywhere else.</summary>
    /// <param name="entryValues">One value per entry, in entry order (<see cref="Count"/> of them).</param>
    /// <param name="dense">The dense matrix to overwrite, row-major [<see cref="Rows"/>, <see cref="Columns"/>].</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public void Scatter(ReadOnlySpan<float> entryValues, Span<float> dense)
    {
        if (entryValues.Length != Count)
        {
            throw new ArgumentException($"sparse rows: {entryValues.Length} values for {Count} entries");
        }

        CheckDense("dense", dense.Length);
        fixed (float* v = entryValues, d = dense)
        {
            int parts = Count + ((long)Rows * Columns) < SparseLinear.ParallelThreshold ? 1 : PartCount;
            KernelWorkers.RunRanges(new ScatterWork(this, v, d), PartCount, parts);
        }
    }

    /// <summary>The dense form of the values, a part of the rows at a time.</summary>
    private readonly struct ScatterWork(SparseRows pattern, float* values, float* dense) : IRangeWork
    {
        public void Run(int start, int end) =>
            pattern.ScatterRows(
                new ReadOnlySpan<float>(values, pattern.Count), new Span<float>(dense, pattern.Rows * pattern.Columns), pattern.partStarts[start], pattern.partStarts[end]);
    }

    /// <summary>
    /// The same matrix transposed, in CSR form (so [<see cref="Columns"/>, <see cref="Rows"/>]), its entries ordered
    /// by row then column, its values copied from this one's, and <see cref="SourceSlots"/> mapping each entry back.
    /// </summary>
    /// <returns>The transposed matrix.</returns>
    public SparseRows Transpose()
    {
        var starts = new int[Columns + 1];
        foreach (int c in columnIndices)
        {
            starts[c + 1]++;
        }

        for (int c = 0; c < Columns; c++)
        {
            starts[c + 1] += starts[c];
        }

        // Walking the source row by row fills each transposed row in increasing source row, its column order.
        var next = starts[..Columns];
        var indices = new int[Count];
        var slots = new int[Count];
        for (int r = 0; r < Rows; r++)
        {
            for (int e = rowStarts[r]; e < rowStarts[r + 1]; e++)
            {
                int at = next[columnIndices[e]]++;
                indices[at] = r;
                slots[at] = e;
            }
        }

        var transposed = new SparseRows(Columns, Rows, starts, indices, slots);
        transposed.LoadValuesFrom(this);
        return transposed;
    }

    /// <summary>All threads for a structure large enough to repay waking them, else the calling thread alone.</summary>
    private int ParallelParts() => Count < SparseLinear.ParallelThreshold ? 1 : PartCount;

    /// <summary>
    /// values[e] = source[r·stride + index[e]] for the entries e of rows r in some parts: a gather from the dense matrix.
    /// </summary>
    private readonly struct GatherWork(int* rowStarts, int* index, int* partStarts, float* source, nint stride, float* values) : IRangeWork
    {
        public void Run(int start, int end)
        {
            for (int r = partStarts[start]; r < partStarts[end]; r++)
            {
                float* row = source + (r * stride);
                for (int e = rowStarts[r]; e < rowStarts[r + 1]; e++)
                {
                    values[e] = row[index[e]];
                }
            }
        }
    }

    /// <summary>values[e] = source[slots[e]] for the entries of rows in some parts: <see cref="LoadValuesFrom"/>'s gather from another entry order.</summary>
    private readonly struct SlotGatherWork(int* rowStarts, int* slots, int* partStarts, float* source, float* values, int count) : IRangeWork
    {
        public void Run(int start, int end) => GatherSlots(slots, source, values, rowStarts[partStarts[start]], rowStarts[partStarts[end]], count);
    }

    /// <summary>
    /// Entries from which a permutation through the source slots asks for its random lines ahead: above about a
    /// quarter of a 1 MiB L2 the other order's values miss the cache, and a load or store that waits for a line
    /// holds the ones behind it (4,096² at 90%, 1.7 million entries: the gather 2.4 → 1.5 ms, the scatter of the
    /// weight gradient 3.3 → 2.1 ms, both threads, measured alternately).
    /// </summary>
    internal const int PermutePrefetchFrom = 1 << 16;

    /// <summary>How many entries ahead a permutation asks for its line.</summary>
    private const int PermuteAhead = 32;

    /// <summary>target[e] = source[slots[e]] for e in [first, last), asking ahead for the source's lines when the orders hold <paramref name="count"/> ≥ <see cref="PermutePrefetchFrom"/> entries.</summary>
    private static void GatherSlots(int* slots, float* source, float* target, int first, int last, int count)
    {
        int e = first;
        if (count >= PermutePrefetchFrom && Sse.IsSupported)
        {
            for (; e + PermuteAhead < last; e++)
            {
                Sse.Prefetch0(source + slots[e + PermuteAhead]);
                target[e] = source[slots[e]];
            }
        }

        for (; e < last; e++)
        {
            target[e] = source[slots[e]];
        }
    }

    /// <summary>
    /// target[slots[e]] = values[e] (+ second[e] where <paramref name="second"/> is given) for e in [first, last),
    /// asking ahead for the target's lines when the orders hold <paramref name="count"/> ≥ <see cref="PermutePrefetchFrom"/> entries.
    /// </summary>
    internal static void ScatterSlots(int* slots, float* values, float* second, float* target, int first, int last, int count)
    {
        int e = first;
        if (count >= PermutePrefetchFrom && Sse.IsSupported)
        {
            for (; e + PermuteAhead < last; e++)
            {
                Sse.Prefetch0(target + slots[e + PermuteAhead]);
                target[slots[e]] = second == null ? values[e] : values[e] + second[e];
            }
        }

        for (; e < last; e++)
        {
            target[slots[e]] = second == null ? values[e] : values[e] + second[e];
        }
    }

    /// <summary>Rows [start, end) of <see cref="Scatter"/>, unchecked.</summary>
    internal void ScatterRows(ReadOnlySpan<float> entryValues, Span<float> dense, int start, int end)
    {
        if ((long)Rows * Columns >= StreamFloats && Avx.IsSupported && Columns >= 64)
        {
            StreamRows(entryValues, dense, start, end);
            return;
        }

        for (int r = start; r < end; r++)
        {
            var row = dense.Slice(r * Columns, Columns);
            row.Clear();
            for (int e = rowStarts[r]; e < rowStarts[r + 1]; e++)
            {
                row[columnIndices[e]] = entryValues[e];
            }
        }
    }

    /// <summary>
    /// Dense matrices of at least this many floats (16 MiB) are written with non-temporal stores: far larger than the
    /// L2s, they go to memory anyway, and streaming whole lines saves reading each line in before overwriting it.
    /// </summary>
    private const long StreamFloats = 4L << 20;

    [ThreadStatic]
    private static float[]? rowBufferStore;

    /// <summary>
    /// <see cref="ScatterRows"/> for a large dense matrix: each row is built in a zeroed buffer that stays in L1/L2,
    /// then streamed to the matrix in 32-byte non-temporal stores, and its entries zeroed again in the buffer.
    /// </summary>
    private void StreamRows(ReadOnlySpan<float> entryValues, Span<float> dense, int start, int end)
    {
        var store = rowBufferStore;
        if (store == null || store.Length < Columns + 8)
        {
            store = rowBufferStore = GC.AllocateArray<float>(Columns + 8, pinned: true);
        }

        fixed (float* d = dense, v = entryValues)
        fixed (int* rs = rowStarts, ci = columnIndices)
        {
            float* unaligned = (float*)Unsafe.AsPointer(ref store[0]);
            for (int r = start; r < end; r++)
            {
                float* row = d + ((nint)r * Columns);

                // Align the buffer like the row, so both are read and written in the same 32-byte blocks.
                int head = (int)(((32 - ((nint)row & 31)) & 31) / sizeof(float));
                int misalignment = (int)(((nint)unaligned & 31) / sizeof(float));
                float* buffer = unaligned + (-(head + misalignment) & 7);
                for (int e = rs[r]; e < rs[r + 1]; e++)
                {
                    buffer[ci[e]] = v[e];
                }

                int j = 0;
                for (; j < head; j++)
                {
                    row[j] = buffer[j];
                }

                for (; j + 8 <= Columns; j += 8)
                {
                    Avx.StoreAlignedNonTemporal(row + j, Avx.LoadAlignedVector256(buffer + j));
                }

                for (; j < Columns; j++)
                {
                    row[j] = buffer[j];
                }

                for (int e = rs[r]; e < rs[r + 1]; e++)
                {
                    buffer[ci[e]] = 0f;
                }
            }
        }

        // Non-temporal stores are weakly ordered: make them visible before the caller reads the matrix or signals
        // other threads.
        Sse.StoreFence();
    }

    private void CheckDense(string name, int length)
    {
        if (length != (long)Rows * Columns)
        {
            throw new ArgumentException($"sparse rows: {name} has {length} elements, expected {(long)Rows * Columns} for [{Rows},{Columns}]");
        }
    }

    /// <summary>
    /// Cuts the rows into at most <see cref="MaxParts"/> parts of whole 16-row groups with about equal cost, a row
    /// costing its entries plus one (the pass over its output). Only the structure decides the cut, and each output
    /// row is computed whole by one part, so the cut changes which thread works, never the result.
    /// </summary>
    private static int[] Partition(int[] rowStarts, int rows)
    {
        int groups = (rows + RowGroup - 1) / RowGroup;
        int parts = Math.Clamp(groups, 1, MaxParts);
        long total = rowStarts[rows] + (long)rows;
        var starts = new List<int>(parts + 1) { 0 };
        for (int g = 1; g < groups && starts.Count < parts; g++)
        {
            int row = g * RowGroup;
            long cost = rowStarts[row] + (long)row;
            if (cost * parts >= total * starts.Count)
            {
                starts.Add(row);
            }
        }

        starts.Add(rows);
        return [.. starts];
    }
}
