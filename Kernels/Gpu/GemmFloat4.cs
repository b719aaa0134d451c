namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Four floats that the PTX backend loads and stores with one 16-byte vector instruction when it can prove the
/// address is 16-byte aligned (a shared tile allocated as this type and indexed by it), so a thread reads four
/// operands of its micro-tile with one shared-memory access.
/// </summary>
internal struct GemmFloat4
{
    /// <summary>The first element.</summary>
    public float X;

    /// <summary>The second element.</summary>
    public float Y;

    /// <summary>The third element.</summary>
    public float Z;

    /// <summary>The fourth element.</summary>
    public float W;

    /// <summary>c + a·b, element by element, with a broadcast.</summary>
    public static GemmFloat4 MultiplyAdd(GemmFloat4 c, float a, GemmFloat4 b)
    {
        c.X += a * b.X;
        c.Y += a * b.Y;
        c.Z += a * b.Z;
        c.W += a * b.W;
        return c;
    }
}
