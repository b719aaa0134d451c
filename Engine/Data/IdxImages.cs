namespace SparseNet.Engine.Data;

/// <summary>Images read from an IDX file: <see cref="Count"/> × <see cref="Rows"/> × <see cref="Cols"/> bytes, row-major.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Height of each image in pixels.</param>
/// <param name="Cols">Width of each image in pixels.</param>
/// <param name="Pixels">Grey levels 0–255, image after image, each row-major.</param>
public sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels);
