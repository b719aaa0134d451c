using ILGPU.Runtime;
using SparseNet.Kernels.Cpu;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// The GPU radix select against sorting and against the CPU <see cref="Selection"/> kernel: the exact value (a zero
/// as +0), the input left as it was, and the NaN and rank errors.
/// </summary>
[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class SelectKernelTests(string accelerator)
{
    private GpuKernels K => TestAccelerators.Get(accelerator);

    private static float Normalized(float v) => v == 0f ? 0f : v;

    // The k-th smallest by sorting, with a zero as +0.
    private static float BySorting(float[] a, int k)
    {
        float[] sorted = (float[])a.Clone();
        Array.Sort(sorted);
        return Normalized(sorted[k]);
    }

    private void AssertSelects(float[] a, IEnumerable<int> ranks, string what)
    {
        using var buffer = K.Accelerator.Allocate1D(a);
        foreach (int k in ranks)
        {
            float got = K.KthSmallest(buffer.View, k);
            float expected = BySorting(a, k);
            Assert.That(BitConverter.SingleToInt32Bits(got), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), $"{what}, k = {k}: got {got:R}, expected {expected:R}");
            Assert.That(BitConverter.SingleToInt32Bits(got), Is.EqualTo(BitConverter.SingleToInt32Bits(Selection.KthSmallest((ReadOnlySpan<float>)a, k))), $"{what}, k = {k}: the CPU kernel");
        }

        Assert.That(buffer.GetAsArray1D().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(a.Select(BitConverter.SingleToInt32Bits)), $"{what}: the input is left unchanged");
    }

    private static int[] Ranks(Random rng, int n) => new[] { 0, n - 1, n / 2, rng.Next(n), rng.Next(n) }.Distinct().ToArray();

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(17)]
    [TestCase(1000)]
    [TestCase(100_000)]
    public void RandomValues_MatchSorting(int n)
    {
        var rng = new Random(61 + n);

        // Magnitudes over many binades, both signs, as weights and scores spread.
        float[] a = Enumerable.Range(0, n).Select(_ => (float)(((rng.NextDouble() * 2) - 1) * Math.Pow(10, rng.Next(-8, 4)))).ToArray();
        AssertSelects(a, Ranks(rng, n), "random");
    }

    [Test]
    public void ManyDuplicates_AndAllEqual()
    {
        var rng = new Random(62);
        float[] few = Enumerable.Range(0, 5003).Select(_ => new[] { -1.5f, 0.25f, 0.25000003f, 7f }[rng.Next(4)]).ToArray();
        AssertSelects(few, Ranks(rng, few.Length).Concat(Enumerable.Range(0, 6).Select(_ => rng.Next(few.Length))), "four values");
        AssertSelects(Enumerable.Repeat(3.5f, 777).ToArray(), [0, 776, 300], "all equal");
    }

    [Test]
    public void NegativeValues_Infinities_AndSubnormals()
    {
        var rng = new Random(63);
        float[] negative = Enumerable.Range(0, 2049).Select(_ => -(float)rng.NextDouble() * 100).ToArray();
        AssertSelects(negative, Ranks(rng, negative.Length), "negative");
        float[] edges = [float.NegativeInfinity, float.PositiveInfinity, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-40f, -1e-40f, 1f, -1f];
        AssertSelects(edges, [0, 2, 4, 5, 7, 9], "edges");
    }

    [Test]
    public void SignedZeros_CompareEqual_AndAZeroResultIsPositive()
    {
        var rng = new Random(64);

        // The ranks at both ends of the −0 run and of the +0 run, which the keys keep apart (−0 just below +0).
        float[] zeros = Enumerable.Range(0, 3001).Select(_ => rng.Next(4) switch { 0 => -0f, 1 => 0f, 2 => -2f, _ => 2f }).ToArray();
        int below = zeros.Count(v => v < 0), negativeZeros = zeros.Count(v => v == 0 && float.IsNegative(v)), allZeros = zeros.Count(v => v == 0);
        int[] zeroRanks = [below, below + negativeZeros - 1, below + negativeZeros, below + allZeros - 1];
        AssertSelects(zeros, zeroRanks.Concat([0, zeros.Length - 1, rng.Next(zeros.Length)]), "signed zeros");
        AssertSelects([-0f, -0f, -0f], [0, 1, 2], "negative zeros only");
        using var b = K.Accelerator.Allocate1D(new[] { -0f, 1f });
        Assert.That(BitConverter.SingleToInt32Bits(K.KthSmallest(b.View, 0)), Is.Zero, "−0 selected comes back as +0");
    }

    [Test]
    public void NaN_IsAnErrorNamingTheFirstIndex()
    {
        float[] a = Enumerable.Range(0, 300).Select(i => (float)i).ToArray();
        a[250] = float.NaN;
        a[37] = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_0001u)); // a negative NaN
        a[120] = float.NaN;
        using var buffer = K.Accelerator.Allocate1D(a);
        var ex = Assert.Throws<ArgumentException>(() => K.KthSmallest(buffer.View, 5));
        Assert.That(ex!.Message, Does.Contain("index 37 of 300").And.Contain("NaN"));

        // The next call starts clean.
        using var clean = K.Accelerator.Allocate1D(new[] { 2f, 1f });
        Assert.That(K.KthSmallest(clean.View, 1), Is.EqualTo(2f));
    }

    [Test]
    public void RankOutsideTheRange_IsRejected()
    {
        using var buffer = K.Accelerator.Allocate1D(new[] { 1f, 2f, 3f });
        Assert.Throws<ArgumentOutOfRangeException>(() => K.KthSmallest(buffer.View, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => K.KthSmallest(buffer.View, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => K.KthSmallest(buffer.View.SubView(0, 0), 0));
    }
}
