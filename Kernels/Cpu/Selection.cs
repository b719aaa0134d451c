namespace SparseNet.Kernels.Cpu;

/// <summary>Order statistics (placeholder, replaced by the O(n) selection kernel on merge).</summary>
public static class Selection
{
    /// <summary>The k-th smallest value (0-based) of <paramref name="values"/>.</summary>
    public static float KthSmallest(ReadOnlySpan<float> values, int k)
    {
        var copy = values.ToArray();
        Array.Sort(copy);
        return copy[k];
    }
}
