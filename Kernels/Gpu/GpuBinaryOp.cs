namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Elementwise binary operations of <see cref="GpuKernels.Binary"/>: the same members, order and meaning as the
/// engine's <c>BinaryOp</c>, which this project cannot reference.
/// </summary>
public enum GpuBinaryOp
{
    /// <summary>a + b</summary>
    Add,

    /// <summary>a − b</summary>
    Sub,

    /// <summary>a · b</summary>
    Mul,

    /// <summary>a / b</summary>
    Div,

    /// <summary>1 where a == b, else 0 (NaN equals nothing).</summary>
    Equal,

    /// <summary>1 where a &gt; b, else 0 (NaN on either side gives 0).</summary>
    Greater,

    /// <summary>a where b &gt; 0, else 0 (NaN in b gives 0).</summary>
    WherePositive,
}
