namespace SparseNet.Engine.Random;

/// <summary>The four 32-bit words produced by one evaluation of Philox4x32-10.</summary>
/// <param name="X0">Word 0 of the output block.</param>
/// <param name="X1">Word 1 of the output block.</param>
/// <param name="X2">Word 2 of the output block.</param>
/// <param name="X3">Word 3 of the output block.</param>
public readonly record struct PhiloxBlock(uint X0, uint X1, uint X2, uint X3)
{
    /// <summary>Word <paramref name="index"/> (0–3) of the block.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not in 0–3.</exception>
    public uint this[int index] => index switch
    {
        0 => X0,
        1 => X1,
        2 => X2,
        3 => X3,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "Philox block word index must be 0-3."),
    };
}
