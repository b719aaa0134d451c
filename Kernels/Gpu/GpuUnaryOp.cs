namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Elementwise unary operations of <see cref="GpuKernels.Unary"/>: the same members, order and meaning as the
/// engine's <c>UnaryOp</c>, which this project cannot reference.
/// </summary>
public enum GpuUnaryOp
{
    /// <summary>−x</summary>
    Neg,

    /// <summary>eˣ</summary>
    Exp,

    /// <summary>ln x</summary>
    Log,

    /// <summary>max(x, 0); NaN stays NaN.</summary>
    Relu,

    /// <summary>1 where x &gt; 0, else 0 (NaN gives 0).</summary>
    Step,

    /// <summary>tanh x</summary>
    Tanh,

    /// <summary>1 / (1 + e⁻ˣ)</summary>
    Sigmoid,

    /// <summary>√x</summary>
    Sqrt,

    /// <summary>x²</summary>
    Square,

    /// <summary>|x|</summary>
    Abs,

    /// <summary>sign(x) ∈ {−1, 0, 1}; ±0 and NaN give 0.</summary>
    Sign,
}
