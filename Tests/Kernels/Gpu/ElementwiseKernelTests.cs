using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;
using SparseNet.Kernels;

namespace SparseNet.Tests.Kernels.Gpu;

[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class ElementwiseKernelTests(string accelerator)
{
    private static readonly int[] s_lengths = [0, 1, 17, 1000];

    private GpuKernels K => TestAccelerators.Get(accelerator);

    private static IEnumerable<TestCaseData> BroadcastCases()
    {
        yield return Case([17], [17], [17]);
        yield return Case([0], [0], [0]);
        yield return Case([1], [1], [1]);
        yield return Case([1000], [], [1000]);
        yield return Case([], [1000], [1000]);
        yield return Case([], [], []);
        yield return Case([3, 1, 5], [4, 1], [3, 4, 5]);
        yield return Case([7, 13], [13], [7, 13]);
        yield return Case([13], [7, 13], [7, 13]);
        yield return Case([2, 3, 4, 5], [1, 3, 1, 1], [2, 3, 4, 5]);
        yield return Case([1, 3, 1, 1], [2, 3, 4, 5], [2, 3, 4, 5]);
        yield return Case([3, 1], [1, 4], [3, 4]);
        yield return Case([5, 1, 1], [1, 1, 1], [5, 1, 1]);
        yield return Case([0, 3], [3], [0, 3]);
        yield return Case([2, 1, 3, 1, 2, 1, 2, 1], [1, 2, 1, 3, 1, 2, 1, 2], [2, 2, 3, 3, 2, 2, 2, 2]);

        static TestCaseData Case(int[] a, int[] b, int[] y) =>
            new TestCaseData(a, b, y).SetArgDisplayNames(GpuTestData.Format(a), GpuTestData.Format(b), GpuTestData.Format(y));
    }

    [Test]
    public void Unary_MatchesTheCpuBackend([Values] UnaryOp op, [ValueSource(nameof(s_lengths))] int n)
    {
        float[] x = GpuTestData.Uniform(n, 100 + (int)op, -4f, 4f);
        Assert.That(RunUnary(op, x), Is.EqualTo(CpuUnary(op, x)).Using<float>((g, r) => Matches(op, g, r)));
    }

    [Test]
    public void Unary_SpecialValues_FollowTheCpuBackend([Values] UnaryOp op)
    {
        float[] x = [float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, -1e-30f, 0.5f, -0.5f, 0.7f, -0.7f, 20f, -20f, 50f, -50f, 100f, -100f];
        float[] got = RunUnary(op, x), expected = CpuUnary(op, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(Matches(op, got[i], expected[i]), $"{op}({x[i]}) = {got[i]}, the CPU gives {expected[i]}");
        }
    }

    [Test]
    public void Unary_KeepsTheCpusRulesAtZeroAndNaN()
    {
        float[] x = [float.NaN, 0f, -0f, -2f, 3f];
        Assert.That(RunUnary(UnaryOp.Relu, x), Is.EqualTo(new[] { float.NaN, 0f, 0f, 0f, 3f }));
        Assert.That(RunUnary(UnaryOp.Sign, x), Is.EqualTo(new[] { 0f, 0f, 0f, -1f, 1f }));
        Assert.That(RunUnary(UnaryOp.Step, x), Is.EqualTo(new[] { 0f, 0f, 0f, 0f, 1f }));
        Assert.That(RunUnary(UnaryOp.Tanh, [-1000f, 1000f]), Is.EqualTo(new[] { -1f, 1f }));
    }

    [Test]
    public void Unary_InPlace()
    {
        float[] x = GpuTestData.Uniform(33, 7, -2f, 2f);
        using var buffer = GpuTestData.Upload(K, x);
        K.Unary(UnaryOp.Square, buffer.View, buffer.View);
        Assert.That(buffer.ToArray(), Is.EqualTo(x.Select(v => v * v).ToArray()));
    }

    [Test]
    public void Affine_MatchesTheCpuBackend([ValueSource(nameof(s_lengths))] int n, [Values(0f, 0.25f)] float shift)
    {
        float[] x = GpuTestData.Uniform(n, 11, -5f, 5f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[n]);
        K.Affine(a.View, -1.5f, shift, y.View);
        float[] expected = new float[n];
        TensorPrimitives.Multiply(x, -1.5f, expected);
        if (shift != 0f)
        {
            TensorPrimitives.Add(expected, shift, expected);
        }

        GpuTestData.AssertClose(y.ToArray(), expected, 1e-6f, 1e-6f);
    }

    [Test]
    public void Pow_MatchesTheCpuBackend([ValueSource(nameof(s_lengths))] int n, [Values(2f, 0.5f, -1f, 3f, 0f, 1.7f)] float exponent)
    {
        // Negative bases give NaN for fractional exponents on both, signed powers for integer ones.
        float[] x = GpuTestData.Uniform(n, 12, -3f, 3f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[n]);
        K.Pow(a.View, exponent, y.View);
        float[] expected = new float[n];
        TensorPrimitives.Pow(x, exponent, expected);
        GpuTestData.AssertClose(y.ToArray(), expected, 1e-6f, 1e-5f);
    }

    [TestCaseSource(nameof(BroadcastCases))]
    public void Binary_BroadcastsAsTheCpuBackend(int[] aShape, int[] bShape, int[] yShape)
    {
        // Halves in [−3, 3]: equal pairs, zeros (for Div, WherePositive) and inexact quotients all occur.
        float[] x = GpuTestData.Halves(GpuTestData.Count(aShape), 21);
        float[] z = GpuTestData.Halves(GpuTestData.Count(bShape), 22);
        using var a = GpuTestData.Upload(K, x);
        using var b = GpuTestData.Upload(K, z);
        using var y = GpuTestData.Upload(K, new float[GpuTestData.Count(yShape)]);
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            K.Binary(op, a.View, aShape, b.View, bShape, y.View, yShape);
            float[] got = y.ToArray(), expected = NaiveBinary(op, x, aShape, z, bShape, yShape);
            Assert.That(got, Is.EqualTo(expected).Using<float>(GpuTestData.SameBits), $"{op}");
        }
    }

    [Test]
    public void Binary_OperandsMayBeTheOutput()
    {
        float[] x = GpuTestData.Uniform(40, 3, -1f, 1f);
        using var a = GpuTestData.Upload(K, x);
        using var b = GpuTestData.Upload(K, new[] { 2f, 3f, 4f, 5f });
        K.Binary(BinaryOp.Mul, a.View, [10, 4], b.View, [4], a.View, [10, 4]);
        Assert.That(a.ToArray(), Is.EqualTo(x.Select((v, i) => v * (2f + (i % 4))).ToArray()));
    }

    [Test]
    public void Binary_RejectsBadShapes()
    {
        using var a = GpuTestData.Upload(K, new float[12]);
        using var b = GpuTestData.Upload(K, new float[12]);
        using var y = GpuTestData.Upload(K, new float[12]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [3, 4], b.View, [4, 3], y.View, [3, 4]),
                Throws.ArgumentException.With.Message.Contains("[4,3] does not broadcast to y's [3,4]"));
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [3, 4], b.View, [3, 4], y.View, [2, 6]),
                Throws.ArgumentException.With.Message.Contains("does not broadcast"));
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [3, 5], b.View, [3, 4], y.View, [3, 4]),
                Throws.ArgumentException.With.Message.Contains("a has 12 elements but its shape [3,5] holds 15"));
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [1, 1, 1, 1, 1, 1, 1, 3, 4], b.View, [3, 4], y.View, [3, 4]),
                Throws.ArgumentException.With.Message.Contains("rank 9"));
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [3, 4], b.View, [3, 4], y.View, [1, 1, 1, 1, 1, 1, 1, 3, 4]),
                Throws.ArgumentException.With.Message.Contains("rank 9"));
            Assert.That(() => K.Binary((BinaryOp)99, a.View, [12], b.View, [12], y.View, [12]), Throws.InstanceOf<ArgumentException>());
            Assert.That(() => K.Binary(BinaryOp.Add, a.View, [3, -4], b.View, [12], y.View, [12]), Throws.ArgumentException.With.Message.Contains("negative"));
            Assert.That(() => K.Unary((UnaryOp)99, a.View, y.View), Throws.InstanceOf<ArgumentException>());
            Assert.That(() => K.Unary(UnaryOp.Exp, a.View, y.View.SubView(0, 11)), Throws.ArgumentException.With.Message.Contains("a has 12 elements but y 11"));
            Assert.That(() => K.Affine(a.View, 1f, 0f, y.View.SubView(0, 11)), Throws.ArgumentException);
            Assert.That(() => K.Pow(a.View, 2f, y.View.SubView(0, 11)), Throws.ArgumentException);
        });
    }

    [TestCase(new int[0], new[] { 5 })]
    [TestCase(new[] { 5 }, new[] { 3, 5 })]
    [TestCase(new[] { 3, 1 }, new[] { 3, 4 })]
    [TestCase(new[] { 1, 3, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 2, 1, 3 }, new[] { 4, 2, 5, 3 })]
    [TestCase(new[] { 4 }, new[] { 4 })]
    [TestCase(new[] { 1 }, new[] { 3, 0 })]
    [TestCase(new[] { 2, 1, 3, 1, 2, 1, 2, 1 }, new[] { 2, 2, 3, 3, 2, 2, 2, 2 })]
    public void BroadcastTo_RepeatsAlongTheMissingDimensions(int[] aShape, int[] yShape)
    {
        float[] x = GpuTestData.Uniform(GpuTestData.Count(aShape), 31, -1f, 1f);
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[GpuTestData.Count(yShape)]);
        K.BroadcastTo(a.View, aShape, y.View, yShape);
        float[] zeros = new float[Math.Max(1, x.Length)];
        Assert.That(y.ToArray(), Is.EqualTo(NaiveBinary(BinaryOp.Add, x, aShape, zeros, [], yShape)));
    }

    [Test]
    public void BroadcastTo_RejectsShapesThatDoNotBroadcast()
    {
        using var a = GpuTestData.Upload(K, new float[6]);
        using var y = GpuTestData.Upload(K, new float[12]);
        Assert.Multiple(() =>
        {
            Assert.That(() => K.BroadcastTo(a.View, [2, 3], y.View, [4, 3]), Throws.ArgumentException.With.Message.Contains("[2,3] does not broadcast to y's [4,3]"));
            Assert.That(() => K.BroadcastTo(a.View, [1, 2, 3], y.View, [2, 6]), Throws.ArgumentException);
            Assert.That(() => K.BroadcastTo(a.View, [6], y.View, [2, 5]), Throws.ArgumentException.With.Message.Contains("y has 12 elements"));
        });
    }

    private float[] RunUnary(UnaryOp op, float[] x)
    {
        using var a = GpuTestData.Upload(K, x);
        using var y = GpuTestData.Upload(K, new float[x.Length]);
        K.Unary(op, a.View, y.View);
        return y.ToArray();
    }

    // CpuBackend.Unary's calls, one per op.
    private static float[] CpuUnary(UnaryOp op, float[] x)
    {
        float[] r = new float[x.Length];
        if (x.Length == 0)
        {
            return r; // TensorPrimitives.Sigmoid rejects empty spans
        }

        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, r); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, r); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, r); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, r); break;
            case UnaryOp.Step: Elementwise.Step(x, r); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, r); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, r); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, r); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, r); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, r); break;
            case UnaryOp.Sign: Elementwise.Sign(x, r); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }

        return r;
    }

    // Exact ops bit for bit; the transcendental ones (hardware approximations on a GPU) to a few ulp, and the same
    // infinities and NaNs.
    private static bool Matches(UnaryOp op, float got, float expected) =>
        op is UnaryOp.Neg or UnaryOp.Relu or UnaryOp.Step or UnaryOp.Square or UnaryOp.Abs or UnaryOp.Sign
            ? GpuTestData.SameBits(got, expected)
            : GpuTestData.Close(got, expected, 1e-6f, 1e-5f);

    // CpuBackend's general path: each output element from its broadcast source elements.
    private static float[] NaiveBinary(BinaryOp op, float[] x, int[] aShape, float[] z, int[] bShape, int[] yShape)
    {
        int n = GpuTestData.Count(yShape);
        float[] r = new float[n];
        for (int i = 0; i < n; i++)
        {
            float a = x[GpuTestData.SourceIndex(i, yShape, aShape)], b = z[GpuTestData.SourceIndex(i, yShape, bShape)];
            r[i] = op switch
            {
                BinaryOp.Add => a + b,
                BinaryOp.Sub => a - b,
                BinaryOp.Mul => a * b,
                BinaryOp.Div => a / b,
                BinaryOp.Equal => a == b ? 1f : 0f,
                BinaryOp.Greater => a > b ? 1f : 0f,
                _ => b > 0f ? a : 0f,
            };
        }

        return r;
    }
}

/// <summary>Inputs, naive index arithmetic and comparisons shared by the elementwise, reduction and shaping kernel tests.</summary>
internal static class GpuTestData
{
    /// <summary>A device copy of data (ILGPU cannot allocate an empty buffer, so the buffer has at least one element).</summary>
    public static DeviceArray<T> Upload<T>(GpuKernels kernels, T[] data)
        where T : unmanaged => new(kernels.Accelerator, data);

    public static float[] Uniform(int n, int seed, float lo, float hi)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + ((hi - lo) * rng.NextSingle())).ToArray();
    }

    public static float[] Halves(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(-6, 7) / 2f).ToArray();
    }

    public static int Count(int[] shape) => shape.Aggregate(1, (p, d) => p * d);

    public static string Format(int[] shape) => "[" + string.Join(",", shape) + "]";

    // The flat index in an operand of `shape` (broadcast, aligned on the right) of output element i of `yShape`.
    public static int SourceIndex(int i, int[] yShape, int[] shape)
    {
        int index = 0, stride = 1;
        for (int d = yShape.Length - 1, s = shape.Length - 1; d >= 0; d--, s--)
        {
            int coord = i % yShape[d];
            i /= yShape[d];
            if (s >= 0)
            {
                if (shape[s] != 1)
                {
                    index += coord * stride;
                }

                stride *= shape[s];
            }
        }

        return index;
    }

    public static bool SameBits(float a, float b) =>
        (float.IsNaN(a) && float.IsNaN(b)) || BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    public static bool Close(float got, double expected, double atol, double rtol) =>
        double.IsNaN(expected) ? float.IsNaN(got)
        : double.IsInfinity(expected) ? got == expected
        : Math.Abs(got - expected) <= atol + (rtol * Math.Abs(expected));

    public static void AssertClose(float[] got, float[] expected, float atol, float rtol)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < got.Length; i++)
        {
            if (!Close(got[i], expected[i], atol, rtol))
            {
                Assert.Fail($"element {i}: {got[i]} vs expected {expected[i]} (atol {atol}, rtol {rtol})");
            }
        }
    }

    public static void AssertClose(float[] got, double[] expected, double atol, double rtol)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < got.Length; i++)
        {
            if (!Close(got[i], expected[i], atol, rtol))
            {
                Assert.Fail($"element {i}: {got[i]} vs expected {expected[i]} (atol {atol}, rtol {rtol})");
            }
        }
    }
}

/// <summary>A device array of any length, 0 included.</summary>
internal sealed class DeviceArray<T> : IDisposable
    where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _buffer;

    public DeviceArray(Accelerator accelerator, T[] data)
    {
        _buffer = accelerator.Allocate1D<T>(Math.Max(1, data.Length));
        View = _buffer.View.SubView(0, data.Length);
        if (data.Length > 0)
        {
            View.CopyFromCPU(data);
        }
    }

    public ArrayView<T> View { get; }

    public T[] ToArray()
    {
        var result = new T[View.Length];
        if (result.Length > 0)
        {
            View.CopyToCPU(result);
        }

        return result;
    }

    public void Dispose() => _buffer.Dispose();
}
