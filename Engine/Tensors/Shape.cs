using System.Text;

namespace SparseNet.Engine.Tensors;

/// <summary>Shape arithmetic shared by tensors and backends: sizes, strides, broadcasting.</summary>
public static class Shape
{
    /// <summary>Number of elements of a tensor of this shape (1 for a scalar).</summary>
    public static int Size(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"shape {Format(shape)}: negative dimension {d}");
            }

            n *= d;
            if (n > int.MaxValue)
            {
                throw new ArgumentException($"shape {Format(shape)}: more than {int.MaxValue} elements");
            }
        }

        return (int)n;
    }

    /// <summary>Row-major strides of a contiguous tensor of this shape.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }

        return strides;
    }

    /// <summary>Formats a shape as <c>[2,3,4]</c> for error messages.</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(shape[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <summary>True when both shapes have the same rank and dimensions.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>NumPy broadcasting of two shapes; throws naming both when they are incompatible.</summary>
    internal static int[] Broadcast(string op, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"{op}: {Format(a)} and {Format(b)} cannot be broadcast (dimension {i}: {da} vs {db})");
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>Normalises a possibly negative axis against a rank.</summary>
    /// <summary>The number of elements before one axis (outer) and after it (inner), in row-major order.</summary>
    internal static (int Outer, int Inner) AroundAxis(ReadOnlySpan<int> shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= shape[d];
        }

        for (int d = axis + 1; d < shape.Length; d++)
        {
            inner *= shape[d];
        }

        return (outer, inner);
    }

    internal static int Axis(string op, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new ArgumentException($"{op}: axis {axis} is out of range for rank {rank}");
        }

        return a;
    }

    /// <summary>
    /// Strides of <paramref name="input"/> seen as broadcast to <paramref name="output"/>: a broadcast
    /// (size-1 or missing) dimension gets stride 0.
    /// </summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> input, ReadOnlySpan<int> output)
    {
        var strides = new int[output.Length];
        int[] own = Strides(input);
        int offset = output.Length - input.Length;
        for (int i = 0; i < output.Length; i++)
        {
            int j = i - offset;
            strides[i] = j < 0 || input[j] == 1 ? 0 : own[j];
        }

        return strides;
    }
}
