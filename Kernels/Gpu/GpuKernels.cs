using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

/// <summary>
/// The ILGPU kernels of one accelerator. Each kernel is compiled and loaded the first time it is launched and its
/// launcher kept for every later launch (loading costs up to a second; a launch microseconds).
/// </summary>
/// <remarks>
/// <para>Launches are queued on the accelerator's default stream and return at once; results can be read after
/// <see cref="Synchronize"/> (a copy to host memory synchronises by itself). Every view passed in must belong to
/// <see cref="Accelerator"/>.</para>
/// <para>Reductions use a fixed tree per problem size and no float atomics, so a launch gives the same bits every
/// time on the same accelerator.</para>
/// <para>Instances are not safe for concurrent launches from several threads.</para>
/// </remarks>
public sealed partial class GpuKernels
{
    /// <summary>Threads per group for the 2-D tiled kernels (a 16×16 tile); the CPU accelerator must allow it.</summary>
    public const int TileSide = 16;

    /// <summary>Threads per group for the 1-D kernels that reduce in shared memory.</summary>
    public const int ReduceGroup = 256;

    /// <summary>Creates the kernel set of an accelerator; nothing is compiled until first use.</summary>
    public GpuKernels(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        if (accelerator.MaxNumThreadsPerGroup < ReduceGroup)
        {
            throw new ArgumentException($"gpu kernels: accelerator '{accelerator.Name}' allows {accelerator.MaxNumThreadsPerGroup} threads per group; the kernels need {ReduceGroup}");
        }

        Accelerator = accelerator;
    }

    /// <summary>The accelerator the kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Waits until every queued launch has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    // Loads a launcher once; later calls return the cached one.
    private T Cached<T>(ref T? slot, Func<Accelerator, T> load)
        where T : class =>
        slot ??= load(Accelerator);

    // Groups needed to cover n items with groups of the given size.
    private static int GroupsFor(long n, int groupSize) => (int)((n + groupSize - 1) / groupSize);
}
