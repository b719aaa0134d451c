namespace SparseNet.Engine.IO;

/// <summary>
/// One float32 tensor as stored in a safetensors file: a row-major shape and its data.
/// </summary>
/// <remarks>Record equality compares the array references, not their contents.</remarks>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Data">Row-major values; length is the product of <paramref name="Shape"/> (1 for a scalar).</param>
public sealed record SafeTensor(int[] Shape, float[] Data);
