using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

/// <summary>Inputs and checks shared by the tests of the sparse kernels (linear and convolution).</summary>
internal static class SparseKernelChecks
{
    /// <summary>The vector widths the sparse kernels can be forced to, widest first; 1 is the scalar path.</summary>
    private static readonly int[] Widths = [16, 8, 4, 1];

    /// <summary>A mask [rows, columns] of the given density, with optional whole rows (r % 3 == 1) or columns (c % 4 == 2) pruned.</summary>
    public static float[] RandomMask(Random rng, int rows, int columns, double density, bool emptyRows = false, bool emptyColumns = false)
    {
        var mask = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                bool pruned = (emptyRows && r % 3 == 1) || (emptyColumns && c % 4 == 2);
                mask[(r * columns) + c] = !pruned && rng.NextDouble() < density ? 1f : 0f;
            }
        }

        return mask;
    }

    /// <summary>
    /// Fails unless <paramref name="got"/> is within the float32 error bound of an n-term sum, (n+2)·u·Σ|terms|, plus
    /// a tiny relative term, of the double-precision <paramref name="expected"/>: one wrong or missing product fails it.
    /// </summary>
    public static void Near(float got, double expected, double magnitude, int terms, string what)
    {
        double tolerance = ((terms + 2) * 1.2e-7 * magnitude) + (1e-6 * Math.Abs(expected)) + 1e-30;
        if (!(Math.Abs(got - expected) <= tolerance))
        {
            Assert.Fail($"{what} = {got}, expected {expected} (tolerance {tolerance:g3})");
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> once per vector width, forced through <paramref name="force"/>, then lets the
    /// kernels choose again (width 0) even when the body fails.
    /// </summary>
    public static void AtEveryWidth(Action<int> force, Action body)
    {
        try
        {
            foreach (int width in Widths)
            {
                force(width);
                body();
            }
        }
        finally
        {
            force(0);
        }
    }

    /// <summary>
    /// The sparse weight gradient against its CSR form: the dense gradient is exactly 0 at every pruned position, and
    /// each entry's value equals the dense gradient at its position.
    /// </summary>
    public static void CheckEntriesAndPruned(SparseRows rows, float[] mask, float[] values, float[] dense, string label)
    {
        var starts = rows.RowStarts;
        var columns = rows.ColumnIndices;
        int width = rows.Columns;
        for (int r = 0; r < rows.Rows; r++)
        {
            for (int c = 0; c < width; c++)
            {
                if (mask[(r * width) + c] == 0f)
                {
                    Assert.That(dense[(r * width) + c], Is.EqualTo(0f), $"{label}: dW[{r},{c}] is pruned");
                }
            }

            for (int e = starts[r]; e < starts[r + 1]; e++)
            {
                Assert.That(values[e], Is.EqualTo(dense[(r * width) + columns[e]]), $"{label}: dW value of entry {e} differs from its dense position");
            }
        }
    }

    /// <summary>The sparse and dense paths agree to float rounding: the largest difference is at most 1e-5 of the dense result's scale.</summary>
    public static void AssertClose(float[] sparse, float[] dense, string name)
    {
        double scale = dense.Max(v => Math.Abs((double)v));
        double worst = sparse.Zip(dense, (s, d) => Math.Abs((double)s - d)).Max();
        Assert.That(worst, Is.LessThanOrEqualTo(1e-5 * scale), $"{name}: largest |sparse - dense| {worst:g3}, scale {scale:g3}");
    }
}
