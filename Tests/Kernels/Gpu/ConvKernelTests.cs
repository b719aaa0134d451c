using ILGPU;
using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The implicit-GEMM convolutions against the CPU kernels (<see cref="Convolution"/>): forward with and without bias
/// and ReLU, input and weight gradients, over strides 1 and 2, paddings 0–2, non-square images and kernels, 1×1
/// kernels, sizes that take several 128-wide blocks and ones the blocks do not divide, the split weight gradient,
/// empty batches, argument errors and determinism.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class ConvKernelTests(string accelerator)
{
    private const float Sentinel = -7777f;

    private static readonly ConvShape[] Shapes =
    [
        new(2, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1),
        new(2, 3, 7, 7, 5, 3, 3, 2, 2, 1, 1),
        new(2, 3, 7, 7, 5, 3, 3, 1, 1, 0, 0),
        new(2, 3, 7, 7, 5, 3, 3, 2, 2, 2, 2),
        new(2, 4, 6, 9, 3, 3, 2, 2, 1, 1, 0),
        new(3, 5, 7, 7, 6, 1, 1, 1, 1, 0, 0),
        new(2, 3, 6, 6, 4, 1, 1, 2, 2, 1, 1),
        new(1, 2, 5, 4, 3, 5, 4, 1, 1, 2, 1),
        new(3, 3, 7, 7, 130, 3, 3, 1, 1, 1, 1),
    ];

    private GpuKernels Kernels => TestAccelerators.Get(accelerator);

    private static IEnumerable<TestCaseData> ShapeCases() => Shapes.Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));

    [TestCaseSource(nameof(ShapeCases))]
    public void Forward_MatchesTheCpuKernel_WithAndWithoutBiasAndRelu(ConvShape s)
    {
        var random = new Random(s.GetHashCode());
        float[] x = Random(random, s.N * s.C * s.H * s.W), w = Random(random, s.O * s.Taps), bias = Random(random, s.O);
        foreach ((bool withBias, bool relu) in new[] { (false, false), (true, false), (true, true), (false, true) })
        {
            float[] expected = new float[s.N * s.O * s.Positions];
            Convolution.Forward(x, w, withBias ? bias : [], s, expected, relu);
            float[] got = RunForward(x, w, withBias ? bias : [], s, relu, extra: 3);
            AssertClose(got.AsSpan(0, expected.Length).ToArray(), expected, s.Taps, $"{s} bias={withBias} relu={relu}");
            Assert.That(got.Skip(expected.Length), Is.All.EqualTo(Sentinel), "wrote past y");
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void InputGrad_MatchesTheCpuKernel(ConvShape s)
    {
        var random = new Random(s.GetHashCode() + 1);
        float[] dy = Random(random, s.N * s.O * s.Positions), w = Random(random, s.O * s.Taps);
        float[] expected = new float[s.N * s.C * s.H * s.W];
        Convolution.InputGrad(dy, w, s, expected);
        float[] got = RunInputGrad(dy, w, s, extra: 3);
        AssertClose(got.AsSpan(0, expected.Length).ToArray(), expected, s.O * s.KH * s.KW, s.ToString());
        Assert.That(got.Skip(expected.Length), Is.All.EqualTo(Sentinel), "wrote past dx");
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void WeightGrad_MatchesTheCpuKernel(ConvShape s)
    {
        var random = new Random(s.GetHashCode() + 2);
        float[] x = Random(random, s.N * s.C * s.H * s.W), dy = Random(random, s.N * s.O * s.Positions);
        float[] expected = new float[s.O * s.Taps];
        Convolution.WeightGrad(x, dy, s, expected);
        float[] got = RunWeightGrad(x, dy, s, extra: 3);
        AssertClose(got.AsSpan(0, expected.Length).ToArray(), expected, s.N * s.Positions, s.ToString());
        Assert.That(got.Skip(expected.Length), Is.All.EqualTo(Sentinel), "wrote past dw");
    }

    [TestCase(2, 3, 16, 16, 4, 2)]
    [TestCase(4, 2, 16, 16, 3, 4)]
    public void WeightGrad_SplitAcrossTheBatch_MatchesTheCpuKernel_AndRepeatsItsBits(int n, int c, int h, int w, int o, int splits)
    {
        var s = new ConvShape(n, c, h, w, o, 3, 3, 1, 1, 1, 1);
        Assert.That(GpuKernels.GemmWeightGradSplits(s.O, s.Taps, s.N * s.Positions), Is.EqualTo(splits));
        var random = new Random(n + c + h + w + o);
        float[] x = Random(random, s.N * s.C * s.H * s.W), dy = Random(random, s.N * s.O * s.Positions);
        float[] expected = new float[s.O * s.Taps];
        Convolution.WeightGrad(x, dy, s, expected);
        float[] first = RunWeightGrad(x, dy, s, extra: 0);
        AssertClose(first, expected, s.N * s.Positions, s.ToString());
        Assert.That(RunWeightGrad(x, dy, s, extra: 0), Is.EqualTo(first));
    }

    [Test]
    public void WeightGradSplits_DependOnTheShapeOnly()
    {
        Assert.That(GpuKernels.GemmWeightGradSplits(64, 576, 100), Is.EqualTo(1), "shallow depth");
        Assert.That(GpuKernels.GemmWeightGradSplits(1024, 4608, 1 << 20), Is.EqualTo(1), "dW fills the GPU");
        Assert.That(GpuKernels.GemmWeightGradSplits(512, 4608, 1 << 20), Is.EqualTo(2), "one and a bit waves");
        Assert.That(GpuKernels.GemmWeightGradSplits(64, 576, 1 << 20), Is.EqualTo(52), "deep and small");
        Assert.That(GpuKernels.GemmWeightGradSplits(6, 25, 1 << 22), Is.EqualTo(64), "at most 64");
    }

    [Test]
    public void Repeated_GivesIdenticalBits()
    {
        var s = new ConvShape(3, 4, 9, 8, 7, 3, 3, 2, 1, 1, 1);
        var random = new Random(4);
        float[] x = Random(random, s.N * s.C * s.H * s.W), w = Random(random, s.O * s.Taps), bias = Random(random, s.O);
        float[] dy = Random(random, s.N * s.O * s.Positions);
        float[] forward = RunForward(x, w, bias, s, relu: true, extra: 0);
        float[] inputGrad = RunInputGrad(dy, w, s, extra: 0);
        float[] weightGrad = RunWeightGrad(x, dy, s, extra: 0);
        Assert.That(RunForward(x, w, bias, s, relu: true, extra: 0), Is.EqualTo(forward));
        Assert.That(RunInputGrad(dy, w, s, extra: 0), Is.EqualTo(inputGrad));
        Assert.That(RunWeightGrad(x, dy, s, extra: 0), Is.EqualTo(weightGrad));
    }

    [Test]
    public void EmptyBatch_WritesNothing_ButZeroesTheWeightGradient()
    {
        var s = new ConvShape(0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1);
        float[] w = Random(new Random(1), s.O * s.Taps);
        Assert.That(RunForward([], w, [], s, relu: false, extra: 2), Is.All.EqualTo(Sentinel));
        Assert.That(RunInputGrad([], w, s, extra: 2), Is.All.EqualTo(Sentinel));
        float[] dw = RunWeightGrad([], [], s, extra: 2);
        Assert.That(dw.Take(s.O * s.Taps), Is.All.EqualTo(0f));
        Assert.That(dw.Skip(s.O * s.Taps), Is.All.EqualTo(Sentinel));
    }

    [Test]
    public void InvalidArguments_AreRejectedWithTheirValues()
    {
        var k = Kernels;
        var s = new ConvShape(2, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1);
        using var big = k.Accelerator.Allocate1D<float>(2000);
        using var small = k.Accelerator.Allocate1D<float>(10);
        var v = big.View;
        Assert.That(() => k.ConvForward(v, v.SubView(0, 135), default, s with { O = 0 }, v, false),
            Throws.ArgumentException.With.Message.Contains("gpu conv: invalid shape"));
        Assert.That(() => k.ConvForward(v, v, default, s with { KH = 10 }, v, false),
            Throws.ArgumentException.With.Message.Contains("invalid shape"));
        Assert.That(() => k.ConvForward(small.View, v, default, s, v, false),
            Throws.ArgumentException.With.Message.Contains("x has 10 elements, expected at least 294"));
        Assert.That(() => k.ConvForward(v, small.View, default, s, v, false),
            Throws.ArgumentException.With.Message.Contains("w has 10 elements, expected at least 135"));
        Assert.That(() => k.ConvForward(v, v, small.View.SubView(0, 4), s, v, false),
            Throws.ArgumentException.With.Message.Contains("bias has 4 elements, expected 5"));
        Assert.That(() => k.ConvForward(v, v, default, s, small.View, false),
            Throws.ArgumentException.With.Message.Contains("y has 10 elements, expected at least 490"));
        Assert.That(() => k.ConvInputGrad(small.View, v, s, v),
            Throws.ArgumentException.With.Message.Contains("dy has 10 elements, expected at least 490"));
        Assert.That(() => k.ConvInputGrad(v, v, s, small.View),
            Throws.ArgumentException.With.Message.Contains("x has 10 elements, expected at least 294"));
        Assert.That(() => k.ConvWeightGrad(v, v, s, small.View),
            Throws.ArgumentException.With.Message.Contains("w has 10 elements, expected at least 135"));
        Assert.That(() => k.ConvWeightGrad(v, small.View, s, v),
            Throws.ArgumentException.With.Message.Contains("dy has 10 elements, expected at least 490"));
    }

    private float[] RunForward(float[] x, float[] w, float[] bias, ConvShape s, bool relu, int extra)
    {
        var k = Kernels;
        using var xb = k.Accelerator.Allocate1D(Pad(x));
        using var wb = k.Accelerator.Allocate1D(w);
        using var bb = k.Accelerator.Allocate1D(Pad(bias));
        using var yb = k.Accelerator.Allocate1D(Enumerable.Repeat(Sentinel, (s.N * s.O * s.Positions) + extra).ToArray());
        k.ConvForward(xb.View.SubView(0, x.Length), wb.View, bb.View.SubView(0, bias.Length), s, yb.View, relu);
        return yb.GetAsArray1D();
    }

    private float[] RunInputGrad(float[] dy, float[] w, ConvShape s, int extra)
    {
        var k = Kernels;
        using var dyb = k.Accelerator.Allocate1D(Pad(dy));
        using var wb = k.Accelerator.Allocate1D(w);
        using var dxb = k.Accelerator.Allocate1D(Enumerable.Repeat(Sentinel, (s.N * s.C * s.H * s.W) + extra).ToArray());
        k.ConvInputGrad(dyb.View.SubView(0, dy.Length), wb.View, s, dxb.View);
        return dxb.GetAsArray1D();
    }

    private float[] RunWeightGrad(float[] x, float[] dy, ConvShape s, int extra)
    {
        var k = Kernels;
        using var xb = k.Accelerator.Allocate1D(Pad(x));
        using var dyb = k.Accelerator.Allocate1D(Pad(dy));
        using var dwb = k.Accelerator.Allocate1D(Enumerable.Repeat(Sentinel, (s.O * s.Taps) + extra).ToArray());
        k.ConvWeightGrad(xb.View.SubView(0, x.Length), dyb.View.SubView(0, dy.Length), s, dwb.View);
        return dwb.GetAsArray1D();
    }

    // Buffers of at least one element (ILGPU allocations), viewed at the array's own length.
    private static float[] Pad(float[] data) => data.Length == 0 ? [0f] : data;

    private static float[] Random(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    private static void AssertClose(float[] got, float[] expected, int terms, string what)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length));
        double atol = 2e-6 * Math.Max(1, terms), rtol = 1e-4;
        for (int i = 0; i < got.Length; i++)
        {
            if (Math.Abs(got[i] - expected[i]) > atol + (rtol * Math.Abs(expected[i])))
            {
                Assert.Fail($"{what}: element {i} is {got[i]}, expected {expected[i]}");
            }
        }
    }
}

/// <summary>The launch-time divisors the convolution loaders split indices by: exact for every non-negative int.</summary>
public class GemmDivisorTests
{
    [Test]
    public void Divide_EqualsIntegerDivision()
    {
        var random = new Random(7);
        var divisors = Enumerable.Range(1, 300).Concat([511, 512, 513, 4095, 4096, 4097, 50176, 65535, 65536, 1 << 20, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, int.MaxValue - 1, int.MaxValue]);
        foreach (int d in divisors)
        {
            var divisor = new GemmDivisor(d);
            var ns = new[] { 0, 1, d - 1, d, d + 1, int.MaxValue, int.MaxValue - 1, (int)Math.Min(int.MaxValue, 2L * d - 1) }
                .Concat(Enumerable.Range(0, 200).Select(_ => random.Next(int.MaxValue)))
                .Concat(Enumerable.Range(0, 50).Select(_ => (int)Math.Min(int.MaxValue, (long)random.Next(1 << 16) * d)))
                .Where(n => n >= 0);
            foreach (int n in ns)
            {
                if (divisor.Divide(n) != n / d)
                {
                    Assert.Fail($"{n} / {d}: got {divisor.Divide(n)}, expected {n / d}");
                }
            }
        }
    }

    [Test]
    public void NonPositiveDivisor_IsRejected() =>
        Assert.That(() => new GemmDivisor(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
}
