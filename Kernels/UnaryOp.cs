namespace SparseNet.Kernels;

/// <summary>Elementwise unary operations: the engine's op codes, which the CPU and GPU kernels share.</summary>
public enum UnaryOp
{
    /// <summary>−x</summary>
    Neg,

    /// <summary>eˣ</summary>
    Exp,

    /// <summary>ln x</summary>
    Log,

    /// <summary>max(x, 0)</summary>
    Relu,

    /// <summary>1 where x &gt; 0, else 0.</summary>
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

    /// <summary>sign(x) ∈ {−1, 0, 1}</summary>
    Sign,
}
