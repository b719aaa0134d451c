using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Order statistics without a full sort: the k-th smallest of n scores, which magnitude pruning
/// uses as its threshold. Single-threaded and deterministic.
/// </summary>
/// <remarks>
/// Two algorithms give the same result and are chosen by size. Small inputs use introselect
/// (quickselect with a median-of-3 or ninther pivot and three-way partitioning, finished by
/// insertion sort); if it makes too many unbalanced partitions it hands the remaining range to the
/// radix select, so its worst case stays O(n). Larger inputs use a radix select on the float bits
/// mapped to order-preserving unsigned keys: three histogram rounds (11, 11 and 10 bits), each
/// keeping only the bucket that holds the k-th key, which is O(n) on every input.
/// <para>
/// +0 and −0 compare equal, so any sort may put either at index k. Both algorithms return a zero
/// result as +0, whichever zero the input held there; the value always compares equal to element
/// k of <see cref="Array.Sort{T}(T[])"/> of the same values.
/// </para>
/// </remarks>
public static class Selection
{
    /// <summary>At or below this many values introselect beats the radix select's fixed histogram costs.</summary>
    internal const int RadixThreshold = 8192;

    /// <summary>Ranges this short are finished by insertion sort.</summary>
    private const int InsertionThreshold = 16;

    /// <summary>Above this many values the pivot is a ninther (median of three medians of three).</summary>
    private const int NintherThreshold = 128;

    /// <summary>
    /// Returns the k-th smallest value (0-based: the value at index k after an ascending sort) of
    /// <paramref name="scratch"/>, reordering <paramref name="scratch"/> as it goes (pass a copy).
    /// A zero result is returned as +0.
    /// </summary>
    /// <param name="scratch">The values; reordered (and possibly overwritten with their sort keys) on return.</param>
    /// <param name="k">0-based rank, 0 ≤ k &lt; n.</param>
    /// <exception cref="ArgumentOutOfRangeException">k is outside [0, n).</exception>
    /// <exception cref="ArgumentException">A value is NaN (scores are never NaN in valid use).</exception>
    public static float KthSmallest(Span<float> scratch, int k)
    {
        Validate(scratch, k);
        return scratch.Length <= RadixThreshold ? IntroSelect(scratch, k) : RadixSelect(scratch, k);
    }

    /// <summary>
    /// Returns the k-th smallest value (0-based) of <paramref name="values"/>, which is left
    /// untouched: the values are copied into a buffer rented from <see cref="ArrayPool{T}.Shared"/>,
    /// so repeated calls make no garbage. A zero result is returned as +0.
    /// </summary>
    /// <param name="values">The values to select from.</param>
    /// <param name="k">0-based rank, 0 ≤ k &lt; n.</param>
    /// <exception cref="ArgumentOutOfRangeException">k is outside [0, n).</exception>
    /// <exception cref="ArgumentException">A value is NaN.</exception>
    public static float KthSmallest(ReadOnlySpan<float> values, int k)
    {
        Validate(values, k);
        float[] buffer = ArrayPool<float>.Shared.Rent(values.Length);
        try
        {
            var scratch = buffer.AsSpan(0, values.Length);
            values.CopyTo(scratch);
            return scratch.Length <= RadixThreshold ? IntroSelect(scratch, k) : RadixSelect(scratch, k);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static void Validate(ReadOnlySpan<float> values, int k)
    {
        if ((uint)k >= (uint)values.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"kth smallest: k = {k} is outside [0, n) for n = {values.Length}");
        }

        int nan = IndexOfNaN(values);
        if (nan >= 0)
        {
            throw new ArgumentException($"kth smallest: value at index {nan} of {values.Length} is NaN", nameof(values));
        }
    }

    /// <summary>Index of the first NaN, or −1; one vectorised pass with no branch per element.</summary>
    internal static int IndexOfNaN(ReadOnlySpan<float> values)
    {
        int n = values.Length;
        ref float x = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            // Four vectors per step, or-ed together, so the loop branches once per 64 floats.
            for (; i <= n - (4 * Vector512<float>.Count); i += 4 * Vector512<float>.Count)
            {
                var a = Vector512.LoadUnsafe(ref x, (nuint)i);
                var b = Vector512.LoadUnsafe(ref x, (nuint)(i + 16));
                var c = Vector512.LoadUnsafe(ref x, (nuint)(i + 32));
                var d = Vector512.LoadUnsafe(ref x, (nuint)(i + 48));
                var nan = Vector512.IsNaN(a) | Vector512.IsNaN(b) | Vector512.IsNaN(c) | Vector512.IsNaN(d);
                if (nan != Vector512<float>.Zero)
                {
                    break;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            for (; i <= n - (4 * Vector256<float>.Count); i += 4 * Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref x, (nuint)i);
                var b = Vector256.LoadUnsafe(ref x, (nuint)(i + 8));
                var c = Vector256.LoadUnsafe(ref x, (nuint)(i + 16));
                var d = Vector256.LoadUnsafe(ref x, (nuint)(i + 24));
                var nan = Vector256.IsNaN(a) | Vector256.IsNaN(b) | Vector256.IsNaN(c) | Vector256.IsNaN(d);
                if (nan != Vector256<float>.Zero)
                {
                    break;
                }
            }
        }

        // The block that held a NaN (if any) and the tail are scanned one by one to name the index.
        for (; i < n; i++)
        {
            if (float.IsNaN(Unsafe.Add(ref x, i)))
            {
                return i;
            }
        }

        return -1;
    }

    // ---------------------------------------------------------------- introselect

    /// <summary>Introselect over <paramref name="a"/>; no validation (k in range, no NaN).</summary>
    internal static float IntroSelect(Span<float> a, int k) => IntroSelect(a, k, 2 * (32 - int.LeadingZeroCount(a.Length)));

    /// <summary>
    /// Introselect that hands over to the radix select after <paramref name="budget"/> partitions.
    /// A good pivot at least roughly halves the range, so 2·log₂n rounds without finishing means the
    /// input is defeating the pivot rule; tests pass small budgets to exercise the hand-over.
    /// </summary>
    internal static float IntroSelect(Span<float> a, int k, int budget)
    {
        int lo = 0, hi = a.Length - 1;
        while (hi - lo + 1 > InsertionThreshold)
        {
            if (budget-- == 0)
            {
                return RadixSelect(a[lo..(hi + 1)], k - lo);
            }

            int len = hi - lo + 1;
            int mid = lo + (len >> 1);
            float pivot;
            if (len > NintherThreshold)
            {
                int s = len >> 3;
                pivot = Median3(
                    Median3(a[lo], a[lo + s], a[lo + (2 * s)]),
                    Median3(a[mid - s], a[mid], a[mid + s]),
                    Median3(a[hi - (2 * s)], a[hi - s], a[hi]));
            }
            else
            {
                pivot = Median3(a[lo], a[mid], a[hi]);
            }

            // Three-way partition (Dijkstra): [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot.
            // Equal keys end in the middle band, so all-equal and heavily duplicated inputs finish
            // after one pass instead of recursing on them.
            int lt = lo, i = lo, gt = hi;
            while (i <= gt)
            {
                float v = a[i];
                if (v < pivot)
                {
                    a[i] = a[lt];
                    a[lt] = v;
                    lt++;
                    i++;
                }
                else if (v > pivot)
                {
                    a[i] = a[gt];
                    a[gt] = v;
                    gt--;
                }
                else
                {
                    i++;
                }
            }

            if (k < lt)
            {
                hi = lt - 1;
            }
            else if (k > gt)
            {
                lo = gt + 1;
            }
            else
            {
                return pivot == 0f ? 0f : pivot;
            }
        }

        for (int i = lo + 1; i <= hi; i++)
        {
            float v = a[i];
            int j = i - 1;
            while (j >= lo && a[j] > v)
            {
                a[j + 1] = a[j];
                j--;
            }

            a[j + 1] = v;
        }

        float result = a[k];
        return result == 0f ? 0f : result;
    }

    private static float Median3(float a, float b, float c)
    {
        if (a > b)
        {
            (a, b) = (b, a);
        }

        // Now a ≤ b: the median is b clamped from below by a and from above by c.
        return c >= b ? b : (c > a ? c : a);
    }

    // ---------------------------------------------------------------- radix select

    /// <summary>
    /// Maps a float's bits to a key whose unsigned order is the float order (−0 just below +0):
    /// positives get the sign bit set, negatives have every bit inverted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key(uint bits) => bits ^ ((uint)((int)bits >> 31) | 0x8000_0000u);

    private static float FromKey(uint key) => BitConverter.UInt32BitsToSingle((key & 0x8000_0000u) != 0 ? key ^ 0x8000_0000u : ~key);

    /// <summary>
    /// Radix select over <paramref name="a"/>; no validation (k in range, no NaN). Overwrites the
    /// front of <paramref name="a"/> with sort keys.
    /// </summary>
    internal static unsafe float RadixSelect(Span<float> a, int k)
    {
        const int Bins1 = 1 << 11, Bins2 = 1 << 11, Bins3 = 1 << 10;
        int n = a.Length;

        // Four interleaved copies of the first histogram: skewed scores (|θ| packs most values into a
        // few dozen exponent buckets) would otherwise chain increments of one counter through memory.
        int* hist = stackalloc int[4 * Bins1];
        new Span<int>(hist, 4 * Bins1).Clear();
        fixed (float* pf = a)
        {
            uint* p = (uint*)pf;

            // Round 1, over all n: histogram of the top 11 key bits.
            int i = 0;
            for (; i <= n - 4; i += 4)
            {
                hist[Key(p[i]) >> 21]++;
                hist[Bins1 + (Key(p[i + 1]) >> 21)]++;
                hist[(2 * Bins1) + (Key(p[i + 2]) >> 21)]++;
                hist[(3 * Bins1) + (Key(p[i + 3]) >> 21)]++;
            }

            for (; i < n; i++)
            {
                hist[Key(p[i]) >> 21]++;
            }

            for (int b = 0; b < Bins1; b++)
            {
                hist[b] += hist[Bins1 + b] + hist[(2 * Bins1) + b] + hist[(3 * Bins1) + b];
            }

            uint b1 = FindBucket(hist, Bins1, ref k);

            // Keep the keys of bucket b1 at the front, written over values already read (w ≤ i),
            // without a branch per element: every key is stored, and the write position advances
            // only on a match.
            int w = 0;
            for (i = 0; i < n; i++)
            {
                uint key = Key(p[i]);
                p[w] = key;
                w += (key >> 21) == b1 ? 1 : 0;
            }

            // Round 2 over the survivors: the next 11 bits.
            int m = w;
            new Span<int>(hist, Bins2).Clear();
            for (i = 0; i < m; i++)
            {
                hist[(p[i] >> 10) & (Bins2 - 1)]++;
            }

            uint b2 = FindBucket(hist, Bins2, ref k);
            w = 0;
            for (i = 0; i < m; i++)
            {
                uint key = p[i];
                p[w] = key;
                w += ((key >> 10) & (Bins2 - 1)) == b2 ? 1 : 0;
            }

            // Round 3: the last 10 bits; the bucket found is the whole key.
            m = w;
            new Span<int>(hist, Bins3).Clear();
            for (i = 0; i < m; i++)
            {
                hist[p[i] & (Bins3 - 1)]++;
            }

            uint b3 = FindBucket(hist, Bins3, ref k);
            float result = FromKey((b1 << 21) | (b2 << 10) | b3);
            return result == 0f ? 0f : result;
        }
    }

    /// <summary>The bucket holding rank <paramref name="k"/>; k becomes the rank within that bucket.</summary>
    private static unsafe uint FindBucket(int* hist, int bins, ref int k)
    {
        int b = 0;
        while (k >= hist[b])
        {
            k -= hist[b];
            b++;
        }

        Debug.Assert(b < bins, "rank beyond the histogram total");
        return (uint)b;
    }
}
