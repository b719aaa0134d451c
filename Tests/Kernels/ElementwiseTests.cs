using SparseNet.Kernels;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

/// <summary>
/// The elementwise operators and the max reduction at every SIMD width (16, 8, 4 and 1 floats, forced) and every
/// length 0–256, bit for bit against the scalar rules, NaN payloads, ±0, ±∞ and subnormals included.
/// </summary>
public class ElementwiseTests
{
    private static readonly int[] Widths = [0, 16, 8, 4, 1];

    // NaNs of both signs with distinct payloads (one signalling), both zeros, both infinities, subnormals, extremes.
    private static readonly float[] Specials =
    [
        float.NaN, Bits(0x7FC00001), Bits(unchecked((int)0xFFC12345)), Bits(0x7F800001),
        0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon,
        float.MaxValue, float.MinValue, 1f, -1f,
    ];

    private delegate void UnaryKernel(ReadOnlySpan<float> x, Span<float> destination);

    private delegate void BinaryKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination);

    private delegate void ScalarRightKernel(ReadOnlySpan<float> x, float y, Span<float> destination);

    // The rules as the CPU backend wrote them as scalar loops before they were vectorised.
    private static readonly (string Name, UnaryKernel Kernel, Func<float, float> Rule)[] UnaryOps =
    [
        ("step", Elementwise.Step, x => x > 0f ? 1f : 0f),
        ("sign", Elementwise.Sign, x => x > 0f ? 1f : x < 0f ? -1f : 0f),
    ];

    private static readonly (string Name, BinaryKernel Kernel, ScalarRightKernel ScalarRight, Func<float, float, float> Rule)[] BinaryOps =
    [
        ("equal", Elementwise.Equal, Elementwise.Equal, (a, b) => a == b ? 1f : 0f),
        ("greater", Elementwise.Greater, Elementwise.Greater, (a, b) => a > b ? 1f : 0f),
        ("where_positive", Elementwise.WherePositive, Elementwise.WherePositive, (a, b) => b > 0f ? a : 0f),
    ];

    private static float Bits(int bits) => BitConverter.Int32BitsToSingle(bits);

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    // About one element in three is special, the rest uniform in [−2, 2].
    private static float[] Inputs(System.Random rng, int n, int specialOneIn = 3) =>
        Enumerable.Range(0, n).Select(_ => rng.Next(specialOneIn) == 0 ? Specials[rng.Next(Specials.Length)] : (float)((rng.NextDouble() * 4) - 2)).ToArray();

    // A right operand that often equals the left one, or is its negation (so −0 meets +0), so that Equal is
    // exercised on both outcomes.
    private static float[] Partner(System.Random rng, float[] x) =>
        x.Select(v => rng.Next(4) switch { 0 => v, 1 => -v, _ => Inputs(rng, 1)[0] }).ToArray();

    private static void AtEveryWidth(Action<int> body)
    {
        try
        {
            foreach (int width in Widths)
            {
                Elementwise.ForcedWidth = width;
                body(width);
            }
        }
        finally
        {
            Elementwise.ForcedWidth = 0;
        }
    }

    [Test]
    public void UnaryOperators_EveryWidthAndLength_MatchTheScalarRuleBitForBit()
    {
        var rng = new System.Random(1);
        AtEveryWidth(width =>
        {
            for (int n = 0; n <= 256; n++)
            {
                var x = Inputs(rng, n);
                foreach (var (name, kernel, rule) in UnaryOps)
                {
                    var actual = new float[n];
                    kernel(x, actual);
                    Assert.That(Bits(actual), Is.EqualTo(Bits(x.Select(rule).ToArray())), $"{name}, width {width}, n = {n}");
                }
            }
        });
    }

    [Test]
    public void BinaryOperators_EveryWidthAndLength_MatchTheScalarRuleBitForBit()
    {
        var rng = new System.Random(2);
        AtEveryWidth(width =>
        {
            for (int n = 0; n <= 256; n++)
            {
                var x = Inputs(rng, n);
                var y = Partner(rng, x);
                foreach (var (name, kernel, _, rule) in BinaryOps)
                {
                    var actual = new float[n];
                    kernel(x, y, actual);
                    Assert.That(Bits(actual), Is.EqualTo(Bits(x.Select((a, i) => rule(a, y[i])).ToArray())), $"{name}, width {width}, n = {n}");
                }
            }
        });
    }

    [Test]
    public void ScalarRightOperators_EveryWidthAndLength_MatchTheScalarRuleBitForBit()
    {
        var rng = new System.Random(3);
        AtEveryWidth(width =>
        {
            for (int n = 0; n <= 256; n++)
            {
                var x = Inputs(rng, n);
                foreach (float s in Specials.Append(0.5f).Append(x.Length > 0 ? x[rng.Next(n)] : 2f))
                {
                    foreach (var (name, _, kernel, rule) in BinaryOps)
                    {
                        var actual = new float[n];
                        kernel(x, s, actual);
                        Assert.That(Bits(actual), Is.EqualTo(Bits(x.Select(a => rule(a, s)).ToArray())), $"{name}(x, {s}), width {width}, n = {n}");
                    }
                }
            }
        });
    }

    [Test]
    public void InPlace_EveryWidthAndLength_MatchesTheScalarRule()
    {
        // The overlapping last vector must be computed from the inputs, not from what the loop already stored.
        var rng = new System.Random(4);
        AtEveryWidth(width =>
        {
            for (int n = 0; n <= 256; n++)
            {
                var x = Inputs(rng, n);
                var y = Partner(rng, x);
                foreach (var (name, kernel, rule) in UnaryOps)
                {
                    var r = (float[])x.Clone();
                    kernel(r, r);
                    Assert.That(Bits(r), Is.EqualTo(Bits(x.Select(rule).ToArray())), $"{name} in place, width {width}, n = {n}");
                }

                foreach (var (name, kernel, scalarRight, rule) in BinaryOps)
                {
                    var expected = Bits(x.Select((a, i) => rule(a, y[i])).ToArray());
                    var rx = (float[])x.Clone();
                    kernel(rx, y, rx);
                    Assert.That(Bits(rx), Is.EqualTo(expected), $"{name} into x, width {width}, n = {n}");
                    var ry = (float[])y.Clone();
                    kernel(x, ry, ry);
                    Assert.That(Bits(ry), Is.EqualTo(expected), $"{name} into y, width {width}, n = {n}");
                    var rs = (float[])x.Clone();
                    scalarRight(rs, 0.25f, rs);
                    Assert.That(Bits(rs), Is.EqualTo(Bits(x.Select(a => rule(a, 0.25f)).ToArray())), $"{name}(x, 0.25) in place, width {width}, n = {n}");
                }
            }
        });
    }

    [Test]
    public void Width_IsTheForcedOneCappedByTheHardwareAndNarrowedToFitTheLength()
    {
        int widest = KernelInfo.VectorWidth;
        AtEveryWidth(width =>
        {
            int capped = width == 0 ? widest : Math.Min(width, widest);
            Assert.That(Elementwise.Width(256), Is.EqualTo(capped), $"forced {width}");
            for (int n = 0; n <= 20; n++)
            {
                int expected = new[] { 16, 8, 4 }.FirstOrDefault(w => w <= capped && w <= n, 1);
                Assert.That(Elementwise.Width(n), Is.EqualTo(expected), $"forced {width}, n = {n}");
            }
        });
    }

    [Test]
    public void MismatchedLengthsAndShiftedOverlaps_AreRejectedNamingThem()
    {
        var buffer = new float[40];
        var ex = Assert.Throws<ArgumentException>(() => Elementwise.Greater(new float[5], new float[6], new float[5]));
        Assert.That(ex!.Message, Does.Contain("greater").And.Contain("5").And.Contain("6"));
        ex = Assert.Throws<ArgumentException>(() => Elementwise.Step(new float[5], new float[4]));
        Assert.That(ex!.Message, Does.Contain("step").And.Contain("destination 4"));
        ex = Assert.Throws<ArgumentException>(() => Elementwise.Sign(buffer.AsSpan(0, 32), buffer.AsSpan(1, 32)));
        Assert.That(ex!.Message, Does.Contain("sign").And.Contain("shifted by"));
        ex = Assert.Throws<ArgumentException>(() => Elementwise.WherePositive(buffer.AsSpan(8, 16), buffer.AsSpan(0, 16), buffer.AsSpan(0, 16)));
        Assert.That(ex!.Message, Does.Contain("where_positive").And.Contain("shifted by"));
    }

    // Today's scalar loop, the reference: Math.Max folded down the axis from −∞.
    private static float[] MaxAlongReference(float[] x, int outer, int n, int inner)
    {
        var r = new float[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                float m = float.NegativeInfinity;
                for (int k = 0; k < n; k++)
                {
                    m = Math.Max(m, x[(((o * n) + k) * inner) + i]);
                }

                r[(o * inner) + i] = m;
            }
        }

        return r;
    }

    [Test]
    public void MaxAlong_EveryWidthAndInnerLength_MatchesTheScalarFoldBitForBit()
    {
        var rng = new System.Random(5);
        AtEveryWidth(width =>
        {
            for (int inner = 0; inner <= 256; inner++)
            {
                foreach (var (outer, n) in new[] { (1, 1), (2, 3), (3, 0), (1, 9) })
                {
                    // Specials rarer than elsewhere, so that most columns hold numbers, some NaN, some only zeros.
                    var x = Inputs(rng, outer * n * inner, specialOneIn: 24);
                    var actual = new float[outer * inner];
                    Reduction.MaxAlong(x, outer, n, inner, actual);
                    Assert.That(Bits(actual), Is.EqualTo(Bits(MaxAlongReference(x, outer, n, inner))), $"width {width}, [{outer}, {n}, {inner}]");
                }
            }
        });
    }

    [Test]
    public void MaxAlong_NaNsSignedZerosAndInfinities_FoldAsMathMaxDoes()
    {
        // Columns built to meet every case of Math.Max: NaN first, last or twice with different payloads, −0 before
        // and after +0, only −0, −∞ alone, +∞ beside NaN.
        float nan1 = float.NaN, nan2 = Bits(0x7FC00001), nan3 = Bits(unchecked((int)0xFFC12345));
        float[][] columns =
        [
            [nan1, 1f, 2f], [1f, 2f, nan2], [nan2, nan3, 5f], [nan3, 1f, nan1], [-0f, 0f, -0f], [0f, -0f, -0f],
            [-0f, -0f, -0f], [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity],
            [float.PositiveInfinity, nan2, 1f], [-1f, -0f, -2f], [float.Epsilon, -0f, 0f], [3f, 3f, -3f],
        ];
        int n = 3;
        AtEveryWidth(width =>
        {
            foreach (int inner in new[] { 12, 16, 17, 35 })
            {
                var x = new float[n * inner];
                for (int i = 0; i < inner; i++)
                {
                    for (int k = 0; k < n; k++)
                    {
                        x[(k * inner) + i] = columns[i % columns.Length][k];
                    }
                }

                var actual = new float[inner];
                Reduction.MaxAlong(x, 1, n, inner, actual);
                Assert.That(Bits(actual), Is.EqualTo(Bits(MaxAlongReference(x, 1, n, inner))), $"width {width}, inner {inner}");
            }
        });
    }

    [Test]
    public void MaxAlong_BadShapesAndOverlaps_AreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => Reduction.MaxAlong(new float[12], 2, 3, 3, new float[6]));
        Assert.That(ex!.Message, Does.Contain("[2, 3, 3]").And.Contain("18"));
        var buffer = new float[30];
        Assert.Throws<ArgumentException>(() => Reduction.MaxAlong(buffer.AsSpan(0, 24), 2, 3, 4, buffer.AsSpan(20, 8)));
    }
}
