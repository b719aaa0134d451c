namespace SparseNet.Kernels;

/// <summary>Elementwise binary operations with broadcasting: the engine's op codes, which the CPU and GPU kernels share.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,

    /// <summary>a − b</summary>
    Sub,

    /// <summary>a · b</summary>
    Mul,

    /// <summary>a / b</summary>
    Div,

    /// <summary>1 where a == b, else 0 (not differentiable).</summary>
    Equal,

    /// <summary>1 where a &gt; b, else 0 (not differentiable).</summary>
    Greater,

    /// <summary>a where b &gt; 0, else 0 (the gradient of relu in one pass).</summary>
    WherePositive,
}
