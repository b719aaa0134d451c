namespace SparseNet.Engine.Nn;

/// <summary>Whether a layer with a pruned weight runs on the compressed form of its mask.</summary>
public enum SparseMode
{
    /// <summary>
    /// Sparse where it is faster on this machine: below the crossover density measured for the layer's shape
    /// (<see cref="SparseCrossover"/>), else dense.
    /// </summary>
    Auto,

    /// <summary>Sparse whenever the weight has a mask and the device has sparse kernels.</summary>
    On,

    /// <summary>Always dense: the masked weight, zeros included, through the dense kernels.</summary>
    Off,
}
