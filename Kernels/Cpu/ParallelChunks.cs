namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Runs an elementwise pass over a long range on the kernel workers: the range is cut into chunks of
/// <see cref="ChunkLength"/> elements and the chunks are shared between the cores. Passes over tens of megabytes (the
/// activations of a convolutional network at batch 128) are bound by one core's memory bandwidth; two cores move
/// them in a little over half the time.
/// </summary>
/// <remarks>
/// Only for element-by-element work whose result at an index does not depend on where the range was cut (exact
/// arithmetic such as add, multiply or max, not a vectorised exp whose tail runs a different formula): the chunks
/// are fixed by the length, but which thread runs which chunk is not.
/// </remarks>
public static class ParallelChunks
{
    /// <summary>Elements per chunk: 64 KiB of floats, a multiple of every vector width.</summary>
    public const int ChunkLength = 16384;

    /// <summary>Ranges shorter than this run on the calling thread: below it, waking a worker costs what it saves.</summary>
    public const int MinParallelLength = 1 << 17;

    /// <summary>
    /// Calls <paramref name="body"/>(start, length) on runs of whole chunks that together cover [0,
    /// <paramref name="length"/>) once, on the kernel workers when the range is long enough, else once on the calling
    /// thread with the whole range.
    /// </summary>
    /// <param name="length">The number of elements.</param>
    /// <param name="body">The pass over one chunk; it must touch no element outside [start, start + length).</param>
    public static void For(int length, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length < MinParallelLength || KernelWorkers.MaxParts == 1)
        {
            if (length > 0)
            {
                body(0, length);
            }

            return;
        }

        int chunks = (int)(((long)length + ChunkLength - 1) / ChunkLength);
        KernelWorkers.RunRanges(new Chunks(body, length), chunks, KernelWorkers.MaxParts);
    }

    private readonly struct Chunks(Action<int, int> body, int length) : IRangeWork
    {
        public void Run(int start, int end)
        {
            int first = start * ChunkLength;
            int last = (int)Math.Min((long)end * ChunkLength, length);
            body(first, last - first);
        }
    }
}
