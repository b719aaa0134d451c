namespace SparseNet.Engine.Devices;

/// <summary>
/// A pruned weight's mask in a device's compressed form (rows of kept positions, CSR-like), with room for the kept
/// values: what the sparse layer and optimizer primitives of a backend take. A matrix is [rows, columns] over the
/// weight's flat layout: [out, in] for a linear weight, [out, in·kh·kw] for a convolution's. Made by
/// <see cref="IBackend.CompressRows"/>; only its backend reads or writes it.
/// </summary>
public abstract class SparseMatrix
{
    /// <summary>Rows (the weight's first dimension).</summary>
    public abstract int Rows { get; }

    /// <summary>Columns (the product of the weight's other dimensions).</summary>
    public abstract int Columns { get; }

    /// <summary>Kept positions.</summary>
    public abstract int Count { get; }

    /// <summary>The device that owns this matrix.</summary>
    public abstract Device Device { get; }

    /// <summary>Kept positions over all positions (1 for an empty matrix).</summary>
    public double Density => Rows == 0 || Columns == 0 ? 1 : Count / ((double)Rows * Columns);
}
