using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

// The operator structs run by the Elementwise and Reduction loop drivers. The scalar Invoke of each is the rule
// itself, written as the engine wrote it before it was vectorised; the vector forms build the same bits from a
// compare mask: a mask ANDed with 1.0f gives 1.0f or +0 (never −0), and every ordered compare is false on NaN,
// which is how NaN inputs give +0 like the scalar ternaries do.

/// <summary>x &gt; 0 ? 1 : 0 (NaN and ±0 give +0).</summary>
internal readonly struct StepOperator : IUnaryOperator
{
    public static float Invoke(float x) => x > 0f ? 1f : 0f;

    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.GreaterThan(x, Vector128<float>.Zero) & Vector128<float>.One;

    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One;

    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.GreaterThan(x, Vector512<float>.Zero) & Vector512<float>.One;
}

/// <summary>x &gt; 0 ? 1 : x &lt; 0 ? −1 : 0 (NaN and ±0 give +0).</summary>
internal readonly struct SignOperator : IUnaryOperator
{
    public static float Invoke(float x) => x > 0f ? 1f : x < 0f ? -1f : 0f;

    public static Vector128<float> Invoke(Vector128<float> x) =>
        (Vector128.GreaterThan(x, Vector128<float>.Zero) & Vector128<float>.One)
        | (Vector128.LessThan(x, Vector128<float>.Zero) & Vector128.Create(-1f));

    public static Vector256<float> Invoke(Vector256<float> x) =>
        (Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One)
        | (Vector256.LessThan(x, Vector256<float>.Zero) & Vector256.Create(-1f));

    public static Vector512<float> Invoke(Vector512<float> x) =>
        (Vector512.GreaterThan(x, Vector512<float>.Zero) & Vector512<float>.One)
        | (Vector512.LessThan(x, Vector512<float>.Zero) & Vector512.Create(-1f));
}

/// <summary>x == y ? 1 : 0 (NaN equals nothing; −0 equals +0).</summary>
internal readonly struct EqualOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x == y ? 1f : 0f;

    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.Equals(x, y) & Vector128<float>.One;

    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.Equals(x, y) & Vector256<float>.One;

    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.Equals(x, y) & Vector512<float>.One;
}

/// <summary>x &gt; y ? 1 : 0 (NaN on either side gives +0).</summary>
internal readonly struct GreaterOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x > y ? 1f : 0f;

    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.GreaterThan(x, y) & Vector128<float>.One;

    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.GreaterThan(x, y) & Vector256<float>.One;

    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.GreaterThan(x, y) & Vector512<float>.One;
}

/// <summary>y &gt; 0 ? x : 0: x's bits unchanged where y is positive, +0 elsewhere (NaN in y gives +0).</summary>
internal readonly struct WherePositiveOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => y > 0f ? x : 0f;

    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x & Vector128.GreaterThan(y, Vector128<float>.Zero);

    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x & Vector256.GreaterThan(y, Vector256<float>.Zero);

    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x & Vector512.GreaterThan(y, Vector512<float>.Zero);
}

/// <summary>
/// <see cref="Math.Max(float, float)"/>: IEEE 754:2019 maximum, NaN if either input is NaN and +0 above −0. The
/// vector forms are the runtime's Vector*.Max, which since .NET 9 follow that same definition; MaxNative, the raw
/// instruction, would not (x86's maxps returns y when x is NaN, and the second of two zeros).
/// </summary>
internal readonly struct MaxOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => Math.Max(x, y);

    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.Max(x, y);

    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.Max(x, y);

    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.Max(x, y);
}
