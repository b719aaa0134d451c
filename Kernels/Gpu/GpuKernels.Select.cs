using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    // Key bits decided per pass and the bins of one pass's histogram (one per thread of a group).
    private const int LayerSelectBits = 8;
    private const int LayerSelectBins = 1 << LayerSelectBits;
    private const int LayerSelectPasses = 32 / LayerSelectBits;

    // Each pass has its own histogram plus one slot (used by the first pass) for the first NaN, so one clear serves
    // all four passes.
    private const int LayerSelectRegion = LayerSelectBins + 1;

    // Values per thread below which a launch uses fewer groups, so small inputs do not pay for many flushes.
    private const int LayerSelectPerThread = 16;

    private MemoryBuffer1D<int, Stride1D.Dense>? _layerSelectScratch;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, LayerSelectArgs>? _layerSelectHistogram;

    /// <summary>
    /// The <paramref name="k"/>-th smallest (0-based) element of <paramref name="a"/>, which is left unchanged: the
    /// value at index k after an ascending sort, with −0 and +0 equal and a zero result returned as +0, as the CPU
    /// <c>Selection.KthSmallest</c> gives it. Waits for the queued work and returns the value to the host.
    /// </summary>
    /// <remarks>
    /// A radix select on the float bits mapped to order-preserving unsigned keys: four passes over the data, each a
    /// histogram of the next 8 key bits of the values that share the bits already chosen (per-group histograms in
    /// shared memory, added into one with integer atomics, which are exact in any order), read back to pick the bucket
    /// that holds rank k. O(n) per pass, with four 1 KiB round trips to the host.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">k is outside [0, n).</exception>
    /// <exception cref="ArgumentException">An element is NaN (the message names the first such index).</exception>
    public float KthSmallest(ArrayView<float> a, int k)
    {
        long n = a.Length;
        if (k < 0 || k >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"gpu kth smallest: k = {k} is outside [0, n) for n = {n}");
        }

        LayerCheckIndexable("gpu kth smallest", n);
        var scratch = _layerSelectScratch ??= Accelerator.Allocate1D<int>(LayerSelectPasses * LayerSelectRegion);
        scratch.View.MemSetToZero();
        var launch = Cached(ref _layerSelectHistogram, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<int>, LayerSelectArgs>(LayerSelectHistogramKernel));
        int maxGroups = Math.Max(1, Accelerator.MaxNumThreads / ReduceGroup);
        var config = new KernelConfig(Math.Clamp(GroupsFor(n, ReduceGroup * LayerSelectPerThread), 1, maxGroups), ReduceGroup);
        var histogram = new int[LayerSelectRegion];
        uint prefix = 0, mask = 0;
        int rank = k;
        for (int pass = 0; pass < LayerSelectPasses; pass++)
        {
            int shift = 32 - ((pass + 1) * LayerSelectBits);
            ArrayView<int> region = scratch.View.SubView(pass * LayerSelectRegion, LayerSelectRegion);
            launch(config, a, region, new LayerSelectArgs((int)n, mask, prefix, shift, checkNaN: pass == 0));
            region.CopyToCPU(histogram);
            if (pass == 0 && histogram[LayerSelectBins] != 0)
            {
                throw new ArgumentException($"gpu kth smallest: value at index {n - histogram[LayerSelectBins]} of {n} is NaN", nameof(a));
            }

            int bucket = 0;
            while (bucket < LayerSelectBins && rank >= histogram[bucket])
            {
                rank -= histogram[bucket];
                bucket++;
            }

            if (bucket == LayerSelectBins)
            {
                // Only possible if a changed under the passes (a launch racing this one).
                throw new InvalidOperationException($"gpu kth smallest: rank {k} lies beyond the histogram of pass {pass}; was the input modified meanwhile?");
            }

            prefix |= (uint)bucket << shift;
            mask |= (uint)(LayerSelectBins - 1) << shift;
        }

        // The key maps back to the float: positives had the sign bit set, negatives every bit inverted.
        float result = BitConverter.UInt32BitsToSingle((prefix & 0x8000_0000u) != 0 ? prefix ^ 0x8000_0000u : ~prefix);
        return result == 0f ? 0f : result;
    }

    /// <summary>One histogram pass: values whose key matches <see cref="Prefix"/> under <see cref="Mask"/> count in bin (key ≫ Shift) mod 256.</summary>
    internal readonly struct LayerSelectArgs(int n, uint mask, uint prefix, int shift, bool checkNaN)
    {
        public readonly int N = n;
        public readonly uint Mask = mask;
        public readonly uint Prefix = prefix;
        public readonly int Shift = shift;
        public readonly int CheckNaN = checkNaN ? 1 : 0;
    }

    // Grid-stride over a; each group counts in shared memory and adds its non-zero bins into the pass's histogram.
    // With CheckNaN, hist[LayerSelectBins] ends as max(n − i) over the NaN indices i: n minus the first one, 0 if none.
    [GpuKernel(explicitlyGrouped: true)]
    internal static void LayerSelectHistogramKernel(ArrayView<float> a, ArrayView<int> hist, LayerSelectArgs s)
    {
        var local = SharedMemory.Allocate<int>(LayerSelectBins);
        for (int b = Group.IdxX; b < LayerSelectBins; b += Group.DimX)
        {
            local[b] = 0;
        }

        Group.Barrier();
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < s.N; i += stride)
        {
            float v = a[i];
            uint bits = Interop.FloatAsInt(v);
            uint key = bits ^ ((uint)((int)bits >> 31) | 0x8000_0000u);
            if ((key & s.Mask) == s.Prefix)
            {
                Atomic.Add(ref local[(int)((key >> s.Shift) & (LayerSelectBins - 1))], 1);
            }

            if (s.CheckNaN != 0 && float.IsNaN(v))
            {
                Atomic.Max(ref hist[LayerSelectBins], (int)(s.N - i));
            }
        }

        Group.Barrier();
        for (int b = Group.IdxX; b < LayerSelectBins; b += Group.DimX)
        {
            int count = local[b];
            if (count != 0)
            {
                Atomic.Add(ref hist[b], count);
            }
        }
    }
}
