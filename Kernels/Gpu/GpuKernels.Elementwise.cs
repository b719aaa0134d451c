using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int>? _elementwiseUnary;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, float, float>? _elementwiseAffine;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, float>? _elementwisePow;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _elementwiseBinarySame;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, StridedShape, int>? _elementwiseBinaryBroadcast;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, StridedShape>? _elementwiseBroadcastTo;

    /// <summary>
    /// y[i] = op(a[i]), with the CPU backend's rules: Relu keeps NaN, Step and Sign give 0 for ±0 and NaN, Sigmoid is
    /// 1 / (1 + e⁻ˣ), Tanh saturates to ±1 for large |x|. Exp, Log, Tanh, Sigmoid and Sqrt agree with the CPU's to
    /// float rounding (a few ulp; the GPU's exponential and logarithm are hardware approximations), the others exactly.
    /// </summary>
    /// <param name="op">The operation.</param>
    /// <param name="a">The input.</param>
    /// <param name="y">The output, as long as <paramref name="a"/>; may be <paramref name="a"/> itself.</param>
    /// <exception cref="ArgumentException">The lengths differ or the operation is unknown.</exception>
    public void Unary(UnaryOp op, ArrayView<float> a, ArrayView<float> y)
    {
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "gpu unary: unknown operation");
        }

        ElementwiseSameLength("gpu unary", a, y);
        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseUnary, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ElementwiseUnaryKernel))(
            (int)y.Length, a, y, (int)op);
    }

    /// <summary>
    /// y[i] = a[i]·scale + shift; agrees with the CPU's product-then-sum to float rounding (the CUDA compiler may fuse
    /// the two into one multiply-add).
    /// </summary>
    /// <param name="a">The input.</param>
    /// <param name="scale">The factor.</param>
    /// <param name="shift">The term added; 0 adds nothing (so −0 stays −0).</param>
    /// <param name="y">The output, as long as <paramref name="a"/>; may be <paramref name="a"/> itself.</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public void Affine(ArrayView<float> a, float scale, float shift, ArrayView<float> y)
    {
        ElementwiseSameLength("gpu affine", a, y);
        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwiseAffine, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, float>(ElementwiseAffineKernel))(
            (int)y.Length, a, y, scale, shift);
    }

    /// <summary>
    /// y[i] = a[i]^exponent with <see cref="MathF.Pow"/>'s special cases (a negative base needs an integer exponent,
    /// x⁰ = 1); agrees with the CPU to float rounding (computed as e^(exponent·ln|a|) on the GPU).
    /// </summary>
    /// <param name="a">The bases.</param>
    /// <param name="exponent">The exponent.</param>
    /// <param name="y">The output, as long as <paramref name="a"/>; may be <paramref name="a"/> itself.</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public void Pow(ArrayView<float> a, float exponent, ArrayView<float> y)
    {
        ElementwiseSameLength("gpu pow", a, y);
        if (y.Length == 0)
        {
            return;
        }

        Cached(ref _elementwisePow, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(ElementwisePowKernel))(
            (int)y.Length, a, y, exponent);
    }

    /// <summary>
    /// y = op(a, b) with NumPy broadcasting: each operand's shape, aligned on the right, has every dimension equal to
    /// y's or 1 (missing leading dimensions count as 1). Add, Sub, Mul and Div are IEEE single-precision operations, so
    /// the results are the CPU's bit for bit; Equal and Greater give 1 or 0, WherePositive gives a where b &gt; 0, else 0.
    /// </summary>
    /// <param name="op">The operation.</param>
    /// <param name="a">The left operand, dense row-major of shape <paramref name="aShape"/>.</param>
    /// <param name="aShape">The shape of <paramref name="a"/> (rank ≤ 8).</param>
    /// <param name="b">The right operand, dense row-major of shape <paramref name="bShape"/>.</param>
    /// <param name="bShape">The shape of <paramref name="b"/> (rank ≤ 8).</param>
    /// <param name="y">The output, dense row-major of shape <paramref name="yShape"/>; may be an operand of the same shape.</param>
    /// <param name="yShape">The shape of <paramref name="y"/> (rank ≤ 8).</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a rank exceeds 8, an operand does not broadcast to y, or the operation is unknown.</exception>
    public void Binary(BinaryOp op, ArrayView<float> a, ReadOnlySpan<int> aShape, ArrayView<float> b, ReadOnlySpan<int> bShape, ArrayView<float> y, ReadOnlySpan<int> yShape)
    {
        const string name = "gpu binary";
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: unknown operation");
        }

        StridedShape.Elements(name, "a", aShape, a.Length);
        StridedShape.Elements(name, "b", bShape, b.Length);
        int n = StridedShape.Elements(name, "y", yShape, y.Length);
        var shape = StridedShape.Broadcast(name, yShape, aShape, bShape);
        if (n == 0)
        {
            return;
        }

        if (shape.Rank == 1 && shape.A0 == 1 && shape.B0 == 1)
        {
            Cached(ref _elementwiseBinarySame, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ElementwiseBinarySameKernel))(
                n, a, b, y, (int)op);
            return;
        }

        Cached(ref _elementwiseBinaryBroadcast, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, StridedShape, int>(ElementwiseBinaryBroadcastKernel))(
            n, a, b, y, shape, (int)op);
    }

    /// <summary>y = a repeated along the dimensions where a's size is 1 or missing (NumPy broadcasting, aligned on the right).</summary>
    /// <param name="a">The input, dense row-major of shape <paramref name="aShape"/>.</param>
    /// <param name="aShape">The shape of <paramref name="a"/> (rank ≤ 8).</param>
    /// <param name="y">The output, dense row-major of shape <paramref name="yShape"/>, not overlapping <paramref name="a"/> unless the shapes are equal.</param>
    /// <param name="yShape">The shape of <paramref name="y"/> (rank ≤ 8).</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a rank exceeds 8 or a does not broadcast to y.</exception>
    public void BroadcastTo(ArrayView<float> a, ReadOnlySpan<int> aShape, ArrayView<float> y, ReadOnlySpan<int> yShape)
    {
        const string name = "gpu broadcast";
        StridedShape.Elements(name, "a", aShape, a.Length);
        int n = StridedShape.Elements(name, "y", yShape, y.Length);
        var shape = StridedShape.Broadcast(name, yShape, aShape, []);
        if (n == 0)
        {
            return;
        }

        Cached(ref _elementwiseBroadcastTo, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, StridedShape>(ElementwiseBroadcastToKernel))(
            n, a, y, shape);
    }

    private static void ElementwiseSameLength(string name, ArrayView<float> a, ArrayView<float> y)
    {
        if (a.Length != y.Length)
        {
            throw new ArgumentException($"{name}: a has {a.Length} elements but y {y.Length}");
        }

        if (y.Length > int.MaxValue)
        {
            throw new ArgumentException($"{name}: {y.Length} elements exceed the kernels' {int.MaxValue}");
        }
    }

    [GpuKernel]
    internal static void ElementwiseUnaryKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, int op) =>
        y[index] = ElementwiseUnaryApply(op, a[index]);

    [GpuKernel]
    internal static void ElementwiseAffineKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, float scale, float shift)
    {
        float v = a[index] * scale;
        y[index] = shift == 0f ? v : v + shift;
    }

    [GpuKernel]
    internal static void ElementwisePowKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, float exponent) =>
        y[index] = XMath.Pow(a[index], exponent);

    [GpuKernel]
    internal static void ElementwiseBinarySameKernel(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int op) =>
        y[index] = ElementwiseBinaryApply(op, a[index], b[index]);

    [GpuKernel]
    internal static void ElementwiseBinaryBroadcastKernel(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, StridedShape shape, int op)
    {
        var at = shape.Offsets(index.X);
        y[index] = ElementwiseBinaryApply(op, a[at.A], b[at.B]);
    }

    [GpuKernel]
    internal static void ElementwiseBroadcastToKernel(Index1D index, ArrayView<float> a, ArrayView<float> y, StridedShape shape) =>
        y[index] = a[shape.Offsets(index.X).A];

    // The op is the same for every thread of a launch, so the switch never diverges.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseUnaryApply(int op, float x)
    {
        switch (op)
        {
            case (int)UnaryOp.Neg: return -x;
            case (int)UnaryOp.Exp: return XMath.Exp(x);
            case (int)UnaryOp.Log: return XMath.Log(x);
            case (int)UnaryOp.Relu: return x > 0f || XMath.IsNaN(x) ? x : 0f;
            case (int)UnaryOp.Step: return x > 0f ? 1f : 0f;
            case (int)UnaryOp.Tanh: return ElementwiseTanh(x);
            case (int)UnaryOp.Sigmoid: return 1f / (1f + XMath.Exp(-x));
            case (int)UnaryOp.Sqrt: return XMath.Sqrt(x);
            case (int)UnaryOp.Square: return x * x;
            case (int)UnaryOp.Abs: return XMath.Abs(x);
            default: return x > 0f ? 1f : x < 0f ? -1f : 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseBinaryApply(int op, float a, float b)
    {
        switch (op)
        {
            case (int)BinaryOp.Add: return a + b;
            case (int)BinaryOp.Sub: return a - b;
            case (int)BinaryOp.Mul: return a * b;
            case (int)BinaryOp.Div: return a / b;
            case (int)BinaryOp.Equal: return a == b ? 1f : 0f;
            case (int)BinaryOp.Greater: return a > b ? 1f : 0f;
            default: return b > 0f ? a : 0f;
        }
    }

    // tanh from one exponential that cannot overflow into ∞/∞ (the library's (e²ˣ − 1)/(e²ˣ + 1) gives NaN past
    // |x| ≈ 44); below 0.625, where 1 − 2/(e²ˣ + 1) would cancel, Cephes' tanhf polynomial (error ~1 ulp).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ElementwiseTanh(float x)
    {
        float ax = XMath.Abs(x);
        if (ax < 0.625f)
        {
            float z = x * x;
            float p = ((((((-5.70498872745e-3f * z) + 2.06390887954e-2f) * z) - 5.37397155531e-2f) * z) + 1.33314422036e-1f) * z;
            return (((p - 3.33332819422e-1f) * z) * x) + x;
        }

        float r = 1f - (2f / (XMath.Exp(2f * ax) + 1f));
        return x < 0f ? -r : r;
    }
}
