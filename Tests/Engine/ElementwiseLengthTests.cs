using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>Elementwise ops and max with vectorised paths, through the tensor API at every length 0–256 (vector bodies and tails).</summary>
public class ElementwiseLengthTests
{
    [Test]
    public void WherePositive_EveryLength_MatchesTheScalarRule()
    {
        var rng = new System.Random(5);
        for (int n = 0; n <= 256; n++)
        {
            var a = Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var c = Enumerable.Range(0, n).Select(i => i % 7 == 0 ? 0f : (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var result = Tensor.FromArray(a, n).WherePositive(Tensor.FromArray(c, n)).ToArray();
            Assert.That(result, Is.EqualTo(a.Select((x, i) => c[i] > 0f ? x : 0f).ToArray()), $"n = {n}");
        }
    }

    [Test]
    public void ReluAndStep_EveryLength_MatchTheScalarRule()
    {
        var rng = new System.Random(6);
        for (int n = 0; n <= 256; n++)
        {
            var a = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? 0f : (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var t = Tensor.FromArray(a, n);
            Assert.That(t.Relu().ToArray(), Is.EqualTo(a.Select(x => Math.Max(x, 0f)).ToArray()), $"relu, n = {n}");
            Assert.That(t.StepMask().ToArray(), Is.EqualTo(a.Select(x => x > 0f ? 1f : 0f).ToArray()), $"step, n = {n}");
        }
    }

    // Numbers with ±0, ±∞ and NaN mixed in, so the vector bodies and tails meet every case of the rules.
    private static float[] WithSpecials(System.Random rng, int n)
    {
        float[] specials = [float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1f];
        return Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0 ? specials[rng.Next(specials.Length)] : (float)((rng.NextDouble() * 2) - 1)).ToArray();
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    [Test]
    public void SignAndStep_EveryLengthWithSpecials_MatchTheScalarRuleBitForBit()
    {
        var rng = new System.Random(7);
        for (int n = 0; n <= 256; n++)
        {
            var a = WithSpecials(rng, n);
            var t = Tensor.FromArray(a, n);
            Assert.That(Bits(t.SignMask().ToArray()), Is.EqualTo(Bits(a.Select(x => x > 0f ? 1f : x < 0f ? -1f : 0f).ToArray())), $"sign, n = {n}");
            Assert.That(Bits(t.StepMask().ToArray()), Is.EqualTo(Bits(a.Select(x => x > 0f ? 1f : 0f).ToArray())), $"step, n = {n}");
        }
    }

    [Test]
    public void EqualAndGreater_EveryLength_SameShapeScalarAndBroadcast_MatchTheScalarRule()
    {
        var rng = new System.Random(8);
        for (int n = 0; n <= 256; n++)
        {
            var a = WithSpecials(rng, n);
            var b = a.Select(x => rng.Next(3) == 0 ? x : rng.Next(2) == 0 ? -x : (float)((rng.NextDouble() * 2) - 1)).ToArray();
            float s = a.Length > 0 ? a[rng.Next(n)] : 0.5f;
            var ta = Tensor.FromArray(a, n);
            var tb = Tensor.FromArray(b, n);
            var ts = Tensor.FromArray([s], 1);
            Assert.That(Bits(ta.EqualMask(tb).ToArray()), Is.EqualTo(Bits(a.Select((x, i) => x == b[i] ? 1f : 0f).ToArray())), $"equal, n = {n}");
            Assert.That(Bits(ta.GreaterMask(tb).ToArray()), Is.EqualTo(Bits(a.Select((x, i) => x > b[i] ? 1f : 0f).ToArray())), $"greater, n = {n}");
            Assert.That(Bits(ta.EqualMask(ts).ToArray()), Is.EqualTo(Bits(a.Select(x => x == s ? 1f : 0f).ToArray())), $"equal scalar {s}, n = {n}");
            Assert.That(Bits(ta.GreaterMask(ts).ToArray()), Is.EqualTo(Bits(a.Select(x => x > s ? 1f : 0f).ToArray())), $"greater scalar {s}, n = {n}");

            // Two rows of a against one row of b (row broadcast), and a as [2, 1, n] against a per-channel b of [1, 2, 1].
            var rows = a.Concat(b).ToArray();
            var row = Tensor.FromArray(rows, 2, n).GreaterMask(tb).ToArray();
            Assert.That(Bits(row), Is.EqualTo(Bits(rows.Select((x, i) => x > b[i % Math.Max(1, n)] ? 1f : 0f).ToArray())), $"greater row broadcast, n = {n}");
            var channel = Tensor.FromArray(rows, 1, 2, n).EqualMask(Tensor.FromArray([s, 0f], 1, 2, 1)).ToArray();
            Assert.That(Bits(channel), Is.EqualTo(Bits(rows.Select((x, i) => x == (i < n ? s : 0f) ? 1f : 0f).ToArray())), $"equal channel broadcast, n = {n}");
        }
    }

    [Test]
    public void Max_EveryLengthOfTheInnerAxis_MatchesTheMathMaxFold()
    {
        var rng = new System.Random(9);
        for (int n = 0; n <= 256; n++)
        {
            var a = WithSpecials(rng, 3 * n).Select(x => float.IsNaN(x) && rng.Next(4) != 0 ? 2f : x).ToArray();
            var expected = Enumerable.Range(0, n).Select(i => Math.Max(Math.Max(Math.Max(float.NegativeInfinity, a[i]), a[n + i]), a[(2 * n) + i])).ToArray();
            Assert.That(Bits(Tensor.FromArray(a, 3, n).Max(0).ToArray()), Is.EqualTo(Bits(expected)), $"max over 3 rows, n = {n}");
            if (n > 0)
            {
                float last = a.AsSpan(0, n).ToArray().Aggregate(float.NegativeInfinity, Math.Max);
                Assert.That(BitConverter.SingleToInt32Bits(Tensor.FromArray(a.AsSpan(0, n), n).Max(0).ToArray()[0]), Is.EqualTo(BitConverter.SingleToInt32Bits(last)), $"max of one row, n = {n}");
            }
        }
    }
}
