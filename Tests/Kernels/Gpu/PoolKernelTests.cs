using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// GPU pooling against the CPU <see cref="Pool2d"/> kernels, bit for bit: the GPU kernels visit windows in the CPU's
/// order and round the same operations, so max and average pooling and both backward passes give its exact values.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class PoolKernelTests(string accelerator)
{
    // 2×2 stride 2 (the CPU's vector path) on even and odd sizes, 3×3 stride 2 pad 1 (overlapping windows), windows
    // that are not square with unequal strides and one-sided padding, non-overlapping 3×3, and a single pixel.
    private static readonly PoolShape[] Shapes =
    [
        new(3, 6, 8, 2, 2, 2, 2, 0, 0),
        new(2, 7, 9, 2, 2, 2, 2, 0, 0),
        new(3, 7, 5, 3, 3, 2, 2, 1, 1),
        new(2, 9, 10, 3, 3, 2, 2, 1, 1),
        new(2, 5, 8, 3, 2, 1, 2, 1, 1),
        new(4, 11, 6, 2, 3, 3, 1, 0, 1),
        new(2, 9, 7, 3, 3, 3, 3, 0, 0),
        new(1, 1, 1, 1, 1, 1, 1, 0, 0),
    ];

    private static IEnumerable<TestCaseData> ShapeCases() => Shapes.Select(s => new TestCaseData(s).SetArgDisplayNames(s.ToString()));

    private GpuKernels K => TestAccelerators.Get(accelerator);

    // Continuous values, or a few small integers so that most windows hold ties.
    private static float[] Draw(Random rng, long n, bool ties) =>
        Enumerable.Range(0, (int)n).Select(_ => ties ? rng.Next(-2, 2) : (float)((rng.NextDouble() * 2) - 1)).ToArray();

    private static (float[] Y, int[] Argmax) CpuMax(float[] x, PoolShape g)
    {
        var y = new float[g.OutputLength];
        var argmax = new int[g.OutputLength];
        Pool2d.MaxForward(x, g.Planes, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, y, argmax);

        // As CpuBackend.MaxPool2d: plane offsets make the indices flat over the whole input.
        int ohw = g.OH * g.OW, hw = g.H * g.W;
        for (int i = 0; i < argmax.Length; i++)
        {
            argmax[i] += i / ohw * hw;
        }

        return (y, argmax);
    }

    private (float[] Y, int[] Argmax) GpuMax(float[] x, PoolShape g)
    {
        using var bx = K.Accelerator.Allocate1D(x);
        using var by = K.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, (int)g.OutputLength).ToArray());
        using var ba = K.Accelerator.Allocate1D(Enumerable.Repeat(-7, (int)g.OutputLength).ToArray());
        K.MaxPool2d(bx.View, g, by.View, ba.View);
        return (by.GetAsArray1D(), ba.GetAsArray1D());
    }

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    [TestCaseSource(nameof(ShapeCases))]
    public void MaxPool2d_MatchesTheCpuKernel_ValuesAndFlatArgmax(PoolShape g)
    {
        var rng = new Random(31);
        foreach (bool ties in new[] { false, true })
        {
            float[] x = Draw(rng, g.InputLength, ties);
            var (y, argmax) = GpuMax(x, g);
            var (expectedY, expectedArgmax) = CpuMax(x, g);
            Assert.That(Bits(y), Is.EqualTo(Bits(expectedY)), $"ties {ties}");
            Assert.That(argmax, Is.EqualTo(expectedArgmax), $"ties {ties}");
        }
    }

    [Test]
    public void MaxPool2d_PaddingNeverWins_AndTheFirstNaNWinsItsWindow()
    {
        var g = new PoolShape(2, 7, 5, 3, 3, 2, 2, 1, 1);
        var rng = new Random(32);
        float[] x = Draw(rng, g.InputLength, ties: false).Select(v => v - 5f).ToArray();
        x[8] = float.NaN;
        x[9] = float.NaN;
        x[40] = float.NegativeInfinity;
        var (y, argmax) = GpuMax(x, g);
        var (expectedY, expectedArgmax) = CpuMax(x, g);
        Assert.That(Bits(y), Is.EqualTo(Bits(expectedY)));
        Assert.That(argmax, Is.EqualTo(expectedArgmax));
        Assert.That(y.Where(v => !float.IsNaN(v)), Is.All.LessThan(0f));
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void MaxPool2dBackward_MatchesTheCpuScatter_AndWritesEveryElement(PoolShape g)
    {
        var rng = new Random(33);
        foreach (bool ties in new[] { false, true })
        {
            float[] x = Draw(rng, g.InputLength, ties);
            float[] dy = Draw(rng, g.OutputLength, ties: false);
            var (_, argmax) = CpuMax(x, g);
            var expected = new float[g.InputLength];
            Pool2d.MaxBackward(dy, argmax, g.Planes, g.H * g.W, g.OH * g.OW, expected);

            using var bdy = K.Accelerator.Allocate1D(dy);
            using var ba = K.Accelerator.Allocate1D(argmax);
            using var bdx = K.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, (int)g.InputLength).ToArray());
            K.MaxPool2dBackward(bdy.View, ba.View, g, bdx.View);
            Assert.That(Bits(bdx.GetAsArray1D()), Is.EqualTo(Bits(expected)), $"ties {ties}");
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void AvgPool2d_MatchesTheCpuKernel_BitForBit(PoolShape g)
    {
        var rng = new Random(34);
        float[] x = Draw(rng, g.InputLength, ties: false);
        var expected = new float[g.OutputLength];
        Pool2d.AvgForward(x, g.Planes, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, expected);

        using var bx = K.Accelerator.Allocate1D(x);
        using var by = K.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, (int)g.OutputLength).ToArray());
        K.AvgPool2d(bx.View, g, by.View);
        Assert.That(Bits(by.GetAsArray1D()), Is.EqualTo(Bits(expected)));
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void AvgPool2dBackward_MatchesTheCpuAdjoint_BitForBit(PoolShape g)
    {
        var rng = new Random(35);
        float[] dy = Draw(rng, g.OutputLength, ties: false);
        var expected = new float[g.InputLength];
        Pool2d.AvgBackward(dy, g.Planes, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, expected);

        using var bdy = K.Accelerator.Allocate1D(dy);
        using var bdx = K.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, (int)g.InputLength).ToArray());
        K.AvgPool2dBackward(bdy.View, g, bdx.View);
        Assert.That(Bits(bdx.GetAsArray1D()), Is.EqualTo(Bits(expected)));
    }

    [Test]
    public void NoPlanes_IsANoOp()
    {
        var g = new PoolShape(0, 4, 4, 2, 2, 2, 2, 0, 0);
        using var empty = K.Accelerator.Allocate1D<float>(1);
        using var index = K.Accelerator.Allocate1D<int>(1);
        var none = empty.View.SubView(0, 0);
        K.MaxPool2d(none, g, none, index.View.SubView(0, 0));
        K.MaxPool2dBackward(none, index.View.SubView(0, 0), g, none);
        K.AvgPool2d(none, g, none);
        K.AvgPool2dBackward(none, g, none);
        K.Synchronize();
    }

    [Test]
    public void BadShapesAndLengths_AreRejectedNamingThem()
    {
        using var x = K.Accelerator.Allocate1D<float>(2 * 5 * 5);
        using var y = K.Accelerator.Allocate1D<float>(2 * 2 * 2);
        using var argmax = K.Accelerator.Allocate1D<int>(2 * 2 * 2);
        var g = new PoolShape(2, 5, 5, 2, 2, 2, 2, 0, 0);
        Assert.That(g.OH, Is.EqualTo(2));
        var ex = Assert.Throws<ArgumentException>(() => K.MaxPool2d(x.View.SubView(0, 49), g, y.View, argmax.View));
        Assert.That(ex!.Message, Does.Contain("x has 49").And.Contain("50"));
        ex = Assert.Throws<ArgumentException>(() => K.AvgPool2d(x.View, g, y.View.SubView(0, 7)));
        Assert.That(ex!.Message, Does.Contain("y has 7").And.Contain("8"));
        ex = Assert.Throws<ArgumentException>(() => K.MaxPool2dBackward(y.View, argmax.View.SubView(0, 3), g, x.View));
        Assert.That(ex!.Message, Does.Contain("argmax has 3"));
        ex = Assert.Throws<ArgumentException>(() => K.AvgPool2d(x.View, new PoolShape(2, 5, 5, 2, 2, 2, 2, 2, 0), y.View));
        Assert.That(ex!.Message, Does.Contain("padding (2,0)"));
        ex = Assert.Throws<ArgumentException>(() => K.AvgPool2dBackward(y.View, new PoolShape(2, 5, 5, 7, 2, 2, 2, 0, 0), x.View));
        Assert.That(ex!.Message, Does.Contain("larger than the padded input"));
        ex = Assert.Throws<ArgumentException>(() => K.MaxPool2d(x.View, new PoolShape(2, 5, 5, 2, 2, 0, 2, 0, 0), y.View, argmax.View));
        Assert.That(ex!.Message, Does.Contain("stride (0,2)"));
    }
}
