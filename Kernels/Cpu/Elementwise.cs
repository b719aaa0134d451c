using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// Elementwise masks, comparisons and selections over spans that TensorPrimitives does not provide, vectorised at
/// every SIMD width (AVX-512, AVX2, SSE and NEON) and identical bit for bit to the scalar rule each one states.
/// </summary>
/// <remarks>
/// As in dotnet/runtime's TensorPrimitives, each function is an operator struct run by one loop driver per arity
/// (x → r, x and y → r, x and a scalar → r). A driver takes the widest accelerated vector that fits in the input
/// (Vector512, then Vector256, then Vector128) and ends with one last vector that overlaps the one before it
/// instead of a scalar tail; inputs shorter than the narrowest vector run the operator's scalar form. The last
/// vector is computed before anything is stored, so the destination may be the very span of an input; any other
/// overlap between destination and input is rejected.
/// </remarks>
public static class Elementwise
{
    /// <summary>
    /// Caps the SIMD width for tests of the narrower paths: 0 = widest available, otherwise 16, 8, 4 or 1 floats
    /// (a width above what the hardware accelerates means the widest it does). Also read by
    /// <see cref="Reduction"/>. Never set outside tests.
    /// </summary>
    internal static int ForcedWidth { get; set; }

    /// <summary>destination[i] = x[i] &gt; 0 ? 1 : 0; NaN and ±0 give +0.</summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    public static void Step(ReadOnlySpan<float> x, Span<float> destination) => Unary<StepOperator>("step", x, destination);

    /// <summary>destination[i] = x[i] &gt; 0 ? 1 : x[i] &lt; 0 ? −1 : 0; NaN and ±0 give +0.</summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    public static void Sign(ReadOnlySpan<float> x, Span<float> destination) => Unary<SignOperator>("sign", x, destination);

    /// <summary>destination[i] = x[i] == y[i] ? 1 : 0; NaN equals nothing, −0 equals +0.</summary>
    /// <param name="x">The left operand.</param>
    /// <param name="y">The right operand, as long as <paramref name="x"/>.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be either input itself.</param>
    public static void Equal(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<EqualOperator>("equal", x, y, destination);

    /// <summary>destination[i] = x[i] == y ? 1 : 0; NaN equals nothing, −0 equals +0.</summary>
    /// <param name="x">The left operand.</param>
    /// <param name="y">The right operand, the same for every element.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    public static void Equal(ReadOnlySpan<float> x, float y, Span<float> destination) => Binary<EqualOperator>("equal", x, y, destination);

    /// <summary>destination[i] = x[i] &gt; y[i] ? 1 : 0; NaN on either side gives +0.</summary>
    /// <param name="x">The left operand.</param>
    /// <param name="y">The right operand, as long as <paramref name="x"/>.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be either input itself.</param>
    public static void Greater(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<GreaterOperator>("greater", x, y, destination);

    /// <summary>destination[i] = x[i] &gt; y ? 1 : 0; NaN on either side gives +0.</summary>
    /// <param name="x">The left operand.</param>
    /// <param name="y">The right operand, the same for every element.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    public static void Greater(ReadOnlySpan<float> x, float y, Span<float> destination) => Binary<GreaterOperator>("greater", x, y, destination);

    /// <summary>destination[i] = condition[i] &gt; 0 ? x[i] : 0: x unchanged where the condition is positive, +0 elsewhere (NaN in the condition gives +0).</summary>
    /// <param name="x">The values kept.</param>
    /// <param name="condition">The condition, as long as <paramref name="x"/>.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be either input itself.</param>
    public static void WherePositive(ReadOnlySpan<float> x, ReadOnlySpan<float> condition, Span<float> destination) =>
        Binary<WherePositiveOperator>("where_positive", x, condition, destination);

    /// <summary>destination[i] = condition &gt; 0 ? x[i] : 0, for one condition shared by every element.</summary>
    /// <param name="x">The values kept.</param>
    /// <param name="condition">The condition, the same for every element.</param>
    /// <param name="destination">The output, as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    public static void WherePositive(ReadOnlySpan<float> x, float condition, Span<float> destination) =>
        Binary<WherePositiveOperator>("where_positive", x, condition, destination);

    /// <summary>
    /// The vector width, in floats, the drivers use for <paramref name="length"/> elements: the widest accelerated
    /// one (capped by <see cref="ForcedWidth"/>) that fits in <paramref name="length"/>, or 1 (scalar) below the
    /// narrowest.
    /// </summary>
    internal static int Width(int length)
    {
        int width = KernelInfo.VectorWidth;
        int forced = ForcedWidth;
        if (forced != 0 && forced < width)
        {
            width = forced;
        }

        while (width > 1 && width > length)
        {
            width = width == 4 ? 1 : width / 2;
        }

        return width;
    }

    /// <summary>The unary driver: destination[i] = TOp(x[i]).</summary>
    internal static void Unary<TOp>(string name, ReadOnlySpan<float> x, Span<float> destination)
        where TOp : struct, IUnaryOperator
    {
        CheckDestination(name, "x", x, destination);
        int n = x.Length;
        if (n == 0)
        {
            return;
        }

        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(destination);
        switch (Width(n))
        {
            case 16: UnaryVectors<Vector512<float>, Ops512, TOp>(ref xr, ref rr, n); break;
            case 8: UnaryVectors<Vector256<float>, Ops256, TOp>(ref xr, ref rr, n); break;
            case 4: UnaryVectors<Vector128<float>, Ops128, TOp>(ref xr, ref rr, n); break;
            default: UnaryVectors<float, OpsScalar, TOp>(ref xr, ref rr, n); break;
        }
    }

    /// <summary>The binary driver: destination[i] = TOp(x[i], y[i]).</summary>
    internal static void Binary<TOp>(string name, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination)
        where TOp : struct, IBinaryOperator
    {
        if (y.Length != x.Length)
        {
            throw new ArgumentException($"{name}: x has {x.Length} elements but y {y.Length}", nameof(y));
        }

        CheckDestination(name, "x", x, destination);
        CheckDestination(name, "y", y, destination);
        int n = x.Length;
        if (n == 0)
        {
            return;
        }

        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float rr = ref MemoryMarshal.GetReference(destination);
        switch (Width(n))
        {
            case 16: BinaryVectors<Vector512<float>, Ops512, TOp>(ref xr, ref yr, ref rr, n); break;
            case 8: BinaryVectors<Vector256<float>, Ops256, TOp>(ref xr, ref yr, ref rr, n); break;
            case 4: BinaryVectors<Vector128<float>, Ops128, TOp>(ref xr, ref yr, ref rr, n); break;
            default: BinaryVectors<float, OpsScalar, TOp>(ref xr, ref yr, ref rr, n); break;
        }
    }

    /// <summary>The binary driver with a scalar right operand: destination[i] = TOp(x[i], y).</summary>
    internal static void Binary<TOp>(string name, ReadOnlySpan<float> x, float y, Span<float> destination)
        where TOp : struct, IBinaryOperator
    {
        CheckDestination(name, "x", x, destination);
        int n = x.Length;
        if (n == 0)
        {
            return;
        }

        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(destination);
        switch (Width(n))
        {
            case 16: ScalarRightVectors<Vector512<float>, Ops512, TOp>(ref xr, y, ref rr, n); break;
            case 8: ScalarRightVectors<Vector256<float>, Ops256, TOp>(ref xr, y, ref rr, n); break;
            case 4: ScalarRightVectors<Vector128<float>, Ops128, TOp>(ref xr, y, ref rr, n); break;
            default: ScalarRightVectors<float, OpsScalar, TOp>(ref xr, y, ref rr, n); break;
        }
    }

    private static void CheckDestination(string name, string inputName, ReadOnlySpan<float> input, Span<float> destination)
    {
        if (destination.Length != input.Length)
        {
            throw new ArgumentException($"{name}: {inputName} has {input.Length} elements but destination {destination.Length}", nameof(destination));
        }

        // An exact alias is safe (see the remarks); a shifted one would read elements the loop already overwrote.
        if (input.Overlaps(destination, out int offset) && offset != 0)
        {
            throw new ArgumentException($"{name}: destination overlaps {inputName} shifted by {offset} elements", nameof(destination));
        }
    }

    // The loop bodies below serve every width, scalar included (OpsScalar, Count = 1): the JIT specialises them per
    // vector struct. They need n ≥ Count. The last vector is taken at n − Count, overlapping the previous one unless
    // n is a multiple of Count, and is computed first, from inputs nothing has overwritten yet.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnaryVectors<TV, TOps, TOp>(ref float x, ref float r, int n)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
        where TOp : struct, IUnaryOperator<TV>
    {
        int last = n - TOps.Count;
        TV end = TOp.Invoke(TOps.Load(ref x, last));
        for (int i = 0; i < last; i += TOps.Count)
        {
            TOps.Store(TOp.Invoke(TOps.Load(ref x, i)), ref r, i);
        }

        TOps.Store(end, ref r, last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BinaryVectors<TV, TOps, TOp>(ref float x, ref float y, ref float r, int n)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
        where TOp : struct, IBinaryOperator<TV>
    {
        int last = n - TOps.Count;
        TV end = TOp.Invoke(TOps.Load(ref x, last), TOps.Load(ref y, last));
        for (int i = 0; i < last; i += TOps.Count)
        {
            TOps.Store(TOp.Invoke(TOps.Load(ref x, i), TOps.Load(ref y, i)), ref r, i);
        }

        TOps.Store(end, ref r, last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalarRightVectors<TV, TOps, TOp>(ref float x, float y, ref float r, int n)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
        where TOp : struct, IBinaryOperator<TV>
    {
        var ys = TOps.Create(y);
        int last = n - TOps.Count;
        TV end = TOp.Invoke(TOps.Load(ref x, last), ys);
        for (int i = 0; i < last; i += TOps.Count)
        {
            TOps.Store(TOp.Invoke(TOps.Load(ref x, i), ys), ref r, i);
        }

        TOps.Store(end, ref r, last);
    }
}
