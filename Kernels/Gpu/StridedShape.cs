using System.Globalization;
using System.Runtime.CompilerServices;

namespace SparseNet.Kernels.Gpu;

/// <summary>
/// A row-major index space of up to <see cref="MaxRank"/> dimensions with the strides of up to two operands over it,
/// passed to kernels by value (a kernel cannot take an array): <see cref="Offsets"/> maps a linear index of the space
/// to one element offset per operand. Dimensions are stored innermost first (<see cref="N0"/> is the last one).
/// </summary>
/// <remarks>
/// The host builds it from NumPy-style shapes with dimensions of size 1 dropped and adjacent dimensions merged
/// wherever both operands run through them contiguously, so the common layouts (same shape, scalar, bias row,
/// channel) reach the kernels as rank 1 or 2 and cost at most one or two integer divisions per element.
/// </remarks>
internal readonly struct StridedShape
{
    /// <summary>The largest rank the launchers accept.</summary>
    public const int MaxRank = 8;

    /// <summary>The number of dimensions (0 for a single element).</summary>
    public readonly int Rank;

    // Sizes, innermost first; unused ones are 1.
    public readonly int N0, N1, N2, N3, N4, N5, N6, N7;

    // Strides of the first operand, innermost first; 0 where it is broadcast.
    public readonly int A0, A1, A2, A3, A4, A5, A6, A7;

    // Strides of the second operand, innermost first; 0 where it is broadcast.
    public readonly int B0, B1, B2, B3, B4, B5, B6, B7;

    /// <summary>Creates the space from its dimensions and strides, all innermost first.</summary>
    public StridedShape(ReadOnlySpan<int> sizes, ReadOnlySpan<int> aStrides, ReadOnlySpan<int> bStrides)
    {
        Rank = sizes.Length;
        Span<int> n = stackalloc int[MaxRank];
        Span<int> a = stackalloc int[MaxRank];
        Span<int> b = stackalloc int[MaxRank];
        n.Fill(1);
        sizes.CopyTo(n);
        aStrides.CopyTo(a);
        bStrides.CopyTo(b);
        (N0, N1, N2, N3, N4, N5, N6, N7) = (n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]);
        (A0, A1, A2, A3, A4, A5, A6, A7) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        (B0, B1, B2, B3, B4, B5, B6, B7) = (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    }

    /// <summary>A dense one-dimensional space of <paramref name="size"/> elements with the given strides.</summary>
    public static StridedShape Line(int size, int aStride, int bStride = 0) => new([size], [aStride], [bStride]);

    /// <summary>The offsets of the element at <paramref name="index"/> (row-major over the space) in both operands.</summary>
    /// <remarks>Device code: unrolled over named fields, as kernels cannot index an array of them.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StridedOffsets Offsets(int index)
    {
        // The outermost dimension takes whatever quotient is left, so it needs no division.
        int i = index, a = 0, b = 0, q, c;
        if (Rank <= 1)
        {
            return new StridedOffsets(i * A0, i * B0);
        }

        q = i / N0;
        c = i - (q * N0);
        a += c * A0;
        b += c * B0;
        i = q;
        if (Rank == 2)
        {
            return new StridedOffsets(a + (i * A1), b + (i * B1));
        }

        q = i / N1;
        c = i - (q * N1);
        a += c * A1;
        b += c * B1;
        i = q;
        if (Rank == 3)
        {
            return new StridedOffsets(a + (i * A2), b + (i * B2));
        }

        q = i / N2;
        c = i - (q * N2);
        a += c * A2;
        b += c * B2;
        i = q;
        if (Rank == 4)
        {
            return new StridedOffsets(a + (i * A3), b + (i * B3));
        }

        q = i / N3;
        c = i - (q * N3);
        a += c * A3;
        b += c * B3;
        i = q;
        if (Rank == 5)
        {
            return new StridedOffsets(a + (i * A4), b + (i * B4));
        }

        q = i / N4;
        c = i - (q * N4);
        a += c * A4;
        b += c * B4;
        i = q;
        if (Rank == 6)
        {
            return new StridedOffsets(a + (i * A5), b + (i * B5));
        }

        q = i / N5;
        c = i - (q * N5);
        a += c * A5;
        b += c * B5;
        i = q;
        if (Rank == 7)
        {
            return new StridedOffsets(a + (i * A6), b + (i * B6));
        }

        q = i / N6;
        c = i - (q * N6);
        a += c * A6;
        b += c * B6;
        i = q;
        return new StridedOffsets(a + (i * A7), b + (i * B7));
    }

    /// <summary>
    /// The space of <paramref name="yShape"/> with the strides of <paramref name="aShape"/> and
    /// <paramref name="bShape"/> broadcast to it (NumPy rules, aligned on the right; 0 where an operand's dimension is
    /// 1 or missing).
    /// </summary>
    /// <exception cref="ArgumentException">An operand does not broadcast to <paramref name="yShape"/>.</exception>
    public static StridedShape Broadcast(string name, ReadOnlySpan<int> yShape, ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape)
    {
        CheckBroadcast(name, "a", aShape, yShape);
        CheckBroadcast(name, "b", bShape, yShape);
        int rank = yShape.Length;
        Span<int> n = stackalloc int[MaxRank];
        Span<int> sa = stackalloc int[MaxRank];
        Span<int> sb = stackalloc int[MaxRank];
        int count = 0, strideA = 1, strideB = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            int size = yShape[d];
            int aDim = AlignedDim(aShape, rank, d), bDim = AlignedDim(bShape, rank, d);
            int da = aDim == 1 ? 0 : strideA, db = bDim == 1 ? 0 : strideB;
            strideA *= aDim;
            strideB *= bDim;
            if (size == 1)
            {
                continue;
            }

            // Merged into the dimension inside it when both operands continue through it without a jump.
            if (count > 0 && da == sa[count - 1] * n[count - 1] && db == sb[count - 1] * n[count - 1])
            {
                n[count - 1] *= size;
                continue;
            }

            (n[count], sa[count], sb[count]) = (size, da, db);
            count++;
        }

        return new StridedShape(n[..count], sa[..count], sb[..count]);
    }

    /// <summary>
    /// Splits the dimensions of <paramref name="aShape"/> into those kept in <paramref name="yShape"/> (equal
    /// sizes) and those summed over (1 or missing in y), each with a's strides, merged where contiguous.
    /// </summary>
    /// <exception cref="ArgumentException">y is not a reduction of a.</exception>
    public static (StridedShape Kept, StridedShape Summed) Reduction(string name, ReadOnlySpan<int> aShape, ReadOnlySpan<int> yShape)
    {
        if (yShape.Length > aShape.Length)
        {
            throw new ArgumentException($"{name}: y's shape {Format(yShape)} has more dimensions than a's {Format(aShape)}");
        }

        int rank = aShape.Length;
        Span<int> kn = stackalloc int[MaxRank];
        Span<int> ks = stackalloc int[MaxRank];
        Span<int> sn = stackalloc int[MaxRank];
        Span<int> ss = stackalloc int[MaxRank];
        int kept = 0, summed = 0, stride = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            int size = aShape[d], yDim = AlignedDim(yShape, rank, d);
            if (yDim != size && yDim != 1)
            {
                throw new ArgumentException($"{name}: y's shape {Format(yShape)} is not a reduction of a's {Format(aShape)}: dimension {d} is {size} in a and {yDim} in y");
            }

            if (size != 1)
            {
                if (yDim == size)
                {
                    Append(kn, ks, ref kept, size, stride);
                }
                else
                {
                    Append(sn, ss, ref summed, size, stride);
                }
            }

            stride *= size;
        }

        Span<int> zeros = stackalloc int[MaxRank];
        zeros.Clear();
        return (new StridedShape(kn[..kept], ks[..kept], zeros[..kept]), new StridedShape(sn[..summed], ss[..summed], zeros[..summed]));
    }

    /// <summary>
    /// The number of elements of <paramref name="shape"/>, checked against the length of the view that holds it.
    /// </summary>
    /// <exception cref="ArgumentException">The rank exceeds <see cref="MaxRank"/>, a size is negative or the length differs.</exception>
    public static int Elements(string name, string what, ReadOnlySpan<int> shape, long length)
    {
        if (shape.Length > MaxRank)
        {
            throw new ArgumentException($"{name}: {what}'s shape {Format(shape)} has rank {shape.Length}; the gpu kernels support up to {MaxRank}");
        }

        long count = 1;
        foreach (int size in shape)
        {
            if (size < 0)
            {
                throw new ArgumentException($"{name}: {what}'s shape {Format(shape)} has a negative size");
            }

            // Capped just above int.MaxValue: the product of ranks up to 8 would overflow a long.
            count = Math.Min(count * size, (long)int.MaxValue + 1);
        }

        if (count > int.MaxValue)
        {
            throw new ArgumentException($"{name}: {what}'s shape {Format(shape)} holds more than {int.MaxValue} elements");
        }

        if (count != length)
        {
            throw new ArgumentException($"{name}: {what} has {length} elements but its shape {Format(shape)} holds {count}");
        }

        return (int)count;
    }

    /// <summary>A shape as text, e.g. [3,1,5].</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }

        return "[" + string.Join(",", parts) + "]";
    }

    private static void CheckBroadcast(string name, string what, ReadOnlySpan<int> shape, ReadOnlySpan<int> yShape)
    {
        bool fits = shape.Length <= yShape.Length;
        for (int d = 0; fits && d < shape.Length; d++)
        {
            int size = shape[d], target = yShape[yShape.Length - shape.Length + d];
            fits = size == target || size == 1;
        }

        if (!fits)
        {
            throw new ArgumentException($"{name}: {what}'s shape {Format(shape)} does not broadcast to y's {Format(yShape)}");
        }
    }

    // The size of shape's dimension aligned (on the right) with dimension d of a shape of the given rank; 1 if missing.
    private static int AlignedDim(ReadOnlySpan<int> shape, int rank, int d)
    {
        int at = d - (rank - shape.Length);
        return at >= 0 ? shape[at] : 1;
    }

    private static void Append(Span<int> sizes, Span<int> strides, ref int count, int size, int stride)
    {
        if (count > 0 && stride == strides[count - 1] * sizes[count - 1])
        {
            sizes[count - 1] *= size;
            return;
        }

        sizes[count] = size;
        strides[count] = stride;
        count++;
    }
}

/// <summary>The element offsets of one index of a <see cref="StridedShape"/> in its two operands.</summary>
internal readonly struct StridedOffsets(int a, int b)
{
    /// <summary>The offset in the first operand.</summary>
    public readonly int A = a;

    /// <summary>The offset in the second operand.</summary>
    public readonly int B = b;
}
