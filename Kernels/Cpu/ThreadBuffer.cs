using System.Runtime.CompilerServices;

namespace SparseNet.Kernels.Cpu;

/// <summary>Per-thread workspaces of the sparse kernels: pinned arrays kept in [ThreadStatic] fields, grown when a call needs more.</summary>
internal static unsafe class ThreadBuffer
{
    /// <summary>
    /// The buffer held in <paramref name="store"/> (a [ThreadStatic] field), reallocated when shorter than
    /// <paramref name="floats"/> plus the alignment slack: a pointer to at least that many floats, 64-byte aligned.
    /// </summary>
    /// <param name="store">This thread's array, null until the first call.</param>
    /// <param name="floats">Floats the caller needs.</param>
    /// <returns>The aligned start.</returns>
    public static float* Aligned(ref float[]? store, long floats)
    {
        if (store is null || store.Length < floats + 16)
        {
            store = GC.AllocateUninitializedArray<float>(checked((int)(floats + 16)), pinned: true);
        }

        float* p = (float*)Unsafe.AsPointer(ref store[0]);
        return (float*)(((nint)p + 63) & ~(nint)63);
    }
}
