using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<Index1D, ArrayView<float>, float>? _fill;

    /// <summary>Sets every element of <paramref name="data"/> to <paramref name="value"/>.</summary>
    public void Fill(ArrayView<float> data, float value)
    {
        if (data.Length == 0)
        {
            return;
        }

        Cached(ref _fill, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(FillKernel))((int)data.Length, data, value);
    }

    [GpuKernel]
    internal static void FillKernel(Index1D i, ArrayView<float> data, float value) => data[i] = value;
}
