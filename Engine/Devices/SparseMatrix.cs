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

    /// <summary>
    /// The dense gradient buffer a sparse primitive last wrote whole or at the kept positions, and its version then:
    /// while that buffer is unchanged (<see cref="GradVersion"/>), it holds zeros at every pruned position and this
    /// matrix's backend holds its kept values in entry order.
    /// </summary>
    internal Tensors.Tensor? GradTensor { get; set; }

    /// <summary>The version of <see cref="GradTensor"/> just after that write.</summary>
    internal long GradVersion { get; set; }

    /// <summary>How a gradient write into <paramref name="destination"/> may go: only the kept positions when the buffer is the one last written here and unchanged since.</summary>
    internal SparseGradWrite WriteModeFor(Tensors.Tensor destination, bool accumulate) =>
        accumulate ? SparseGradWrite.Add
        : ReferenceEquals(GradTensor, destination) && GradVersion == destination.Version ? SparseGradWrite.Kept
        : SparseGradWrite.Overwrite;

    /// <summary>Records a gradient write into <paramref name="destination"/> (made with <paramref name="write"/>): marks it written and remembers it.</summary>
    internal void Wrote(Tensors.Tensor destination, SparseGradWrite write)
    {
        destination.MarkWritten();
        GradTensor = write == SparseGradWrite.Add ? null : destination;
        GradVersion = destination.Version;
    }

    /// <summary>Kept positions over all positions (1 for an empty matrix).</summary>
    public double Density => Rows == 0 || Columns == 0 ? 1 : Count / ((double)Rows * Columns);
}
