namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Division of non-negative ints by a divisor fixed at launch, as a multiply and a shift (Granlund–Montgomery): the
/// implicit-GEMM loaders split flat indices into (channel, row, column) several times per tile, and a hardware
/// integer division costs about twenty instructions on a GPU.
/// </summary>
/// <remarks>
/// With l = ⌈log₂ d⌉ and M = ⌈2^(31+l) / d⌉, M·d − 2^(31+l) &lt; d ≤ 2^l, which makes ⌊n·M / 2^(31+l)⌋ = ⌊n / d⌋
/// exact for every 0 ≤ n &lt; 2³¹; M &lt; 2³³, so n·M fits in 64 bits.
/// </remarks>
internal readonly struct GemmDivisor
{
    /// <summary>The divisor.</summary>
    public readonly int Value;

    /// <summary>⌈2^Shift / Value⌉.</summary>
    public readonly ulong Magic;

    /// <summary>31 + ⌈log₂ Value⌉.</summary>
    public readonly int Shift;

    /// <summary>Prepares division by <paramref name="divisor"/> (at least 1).</summary>
    public GemmDivisor(int divisor)
    {
        if (divisor < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "gpu gemm: a divisor must be positive");
        }

        int log = 0;
        while ((1L << log) < divisor)
        {
            log++;
        }

        Value = divisor;
        Shift = 31 + log;
        Magic = ((1UL << Shift) + (ulong)divisor - 1) / (ulong)divisor;
    }

    /// <summary>⌊n / Value⌋ for 0 ≤ n &lt; 2³¹.</summary>
    public int Divide(int n) => (int)(((ulong)n * Magic) >> Shift);
}
