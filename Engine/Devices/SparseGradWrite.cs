namespace SparseNet.Engine.Devices;

/// <summary>How a sparse primitive writes a weight gradient into a dense buffer.</summary>
public enum SparseGradWrite
{
    /// <summary>The whole buffer: the gradient at the kept positions, zeros elsewhere.</summary>
    Overwrite,

    /// <summary>The kept positions only: the buffer is known to hold zeros at every pruned position already.</summary>
    Kept,

    /// <summary>Added at the kept positions to what the buffer holds; the rest is left as it is.</summary>
    Add,
}
