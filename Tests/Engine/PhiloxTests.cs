using SparseNet.Engine.Random;

namespace SparseNet.Tests.Engine;

public class PhiloxTests
{
    // Random123 kat_vectors, "philox4x32 10": counter[4] key[2] -> output[4].
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
              0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
              0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
              0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Compute_MatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
                                                     uint e0, uint e1, uint e2, uint e3)
    {
        Assert.That(Philox.Compute(c0, c1, c2, c3, k0, k1), Is.EqualTo(new PhiloxBlock(e0, e1, e2, e3)));
    }

    [Test]
    public void Block_MapsSeedStreamAndCounterOntoKeyAndCounterWords()
    {
        ulong seed = 0x299f31d0_a4093822UL;
        ulong stream = 0x03707344_13198a2eUL;
        ulong counter = 0x85a308d3_243f6a88UL;
        Assert.That(Philox.Block(seed, stream, counter), Is.EqualTo(new PhiloxBlock(0xd16cfe09u, 0x94fdcceb, 0x5001e420, 0x24126ea1)));
    }

    [Test]
    public void NextUInt32_WalksTheBlocksOfTheStreamInOrder()
    {
        var rng = new Philox(42, 7);
        for (ulong b = 0; b < 3; b++)
        {
            PhiloxBlock block = Philox.Block(42, 7, b);
            for (int w = 0; w < 4; w++)
            {
                Assert.That(rng.NextUInt32(), Is.EqualTo(block[w]), $"block {b} word {w}");
            }
        }
    }

    [Test]
    public void Position_SeeksAndReportsConsumedWords()
    {
        var reference = new Philox(3, RngStreams.Weights);
        var words = new uint[23];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = reference.NextUInt32();
        }

        Assert.That(reference.Position, Is.EqualTo(23UL));
        foreach (ulong start in new ulong[] { 0, 1, 4, 5, 11, 20 })
        {
            var rng = new Philox(3, RngStreams.Weights) { Position = start };
            Assert.That(rng.Position, Is.EqualTo(start));
            Assert.That(rng.NextUInt32(), Is.EqualTo(words[start]), $"start {start}");
            Assert.That(rng.Position, Is.EqualTo(start + 1));
        }
    }

    [Test]
    public void SameSeedAndStream_GiveTheSameSequence_OtherStreamsAndSeedsDiffer()
    {
        static uint[] Draw(ulong seed, ulong stream)
        {
            var rng = new Philox(seed, stream);
            return Enumerable.Range(0, 64).Select(_ => rng.NextUInt32()).ToArray();
        }

        uint[] first = Draw(1, RngStreams.Weights);
        uint[] again = Draw(1, RngStreams.Weights);
        Assert.That(again, Is.EqualTo(first));
        Assert.That(Draw(1, RngStreams.DataOrder), Is.Not.EqualTo(first));
        Assert.That(Draw(2, RngStreams.Weights), Is.Not.EqualTo(first));
        Assert.That(first.Intersect(Draw(1, RngStreams.Masks)).Count(), Is.LessThan(2));
    }

    [Test]
    public void NextSingle_AndNextDouble_AreInUnitIntervalWithUniformMoments()
    {
        var rng = new Philox(11, 0);
        const int n = 100_000;
        double sumF = 0, sumD = 0, min = 1, max = 0;
        for (int i = 0; i < n; i++)
        {
            float f = rng.NextSingle();
            double d = rng.NextDouble();
            min = Math.Min(min, Math.Min(f, d));
            max = Math.Max(max, Math.Max(f, d));
            sumF += f;
            sumD += d;
        }

        Assert.That(min, Is.GreaterThanOrEqualTo(0.0));
        Assert.That(max, Is.LessThan(1.0));

        // Standard error of the mean is sqrt(1/12/n) ~ 0.0009; 5 sigma.
        Assert.That(sumF / n, Is.EqualTo(0.5).Within(0.0046));
        Assert.That(sumD / n, Is.EqualTo(0.5).Within(0.0046));
    }

    [Test]
    public void NextNormal_HasZeroMeanAndUnitVariance()
    {
        var rng = new Philox(5, RngStreams.Weights);
        const int n = 100_000;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++)
        {
            double v = rng.NextNormal();
            Assert.That(double.IsFinite(v), Is.True);
            sum += v;
            sumSq += v * v;
        }

        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        Assert.That(mean, Is.EqualTo(0.0).Within(0.016));      // 5 standard errors
        Assert.That(variance, Is.EqualTo(1.0).Within(0.023));  // 5 * sqrt(2/n)
    }

    [Test]
    public void FillNormal_HasRequestedMomentsAndShorterFillsArePrefixes()
    {
        const int n = 100_001;
        var values = new float[n];
        new Philox(9, RngStreams.Weights).FillNormal(values, 2f, 0.5f);
        double mean = values.Average(v => (double)v);
        double variance = values.Average(v => (v - mean) * (v - mean));
        Assert.That(mean, Is.EqualTo(2.0).Within(0.008));
        Assert.That(variance, Is.EqualTo(0.25).Within(0.006));

        var shorter = new float[7];
        new Philox(9, RngStreams.Weights).FillNormal(shorter, 2f, 0.5f);
        Assert.That(shorter, Is.EqualTo(values.Take(7).ToArray()));
    }

    [Test]
    public void NextNormal_NeverSeesLogOfZero()
    {
        // Find a position whose first word is 0 would be slow; instead check the extreme
        // directly: the smallest uniform Box-Muller can see is 2^-32, giving a finite radius.
        var rng = new Philox(0, 0);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.That(float.IsFinite(rng.NextNormal()), Is.True);
        }

        Assert.That(Math.Sqrt(-2.0 * Math.Log(1.0 / 4294967296.0)), Is.LessThan(6.7));
    }

    [Test]
    public void FillUniform_StaysInsideTheInterval()
    {
        var values = new float[50_000];
        new Philox(4, 0).FillUniform(values, -0.25f, 0.75f);
        Assert.That(values.Min(), Is.GreaterThanOrEqualTo(-0.25f));
        Assert.That(values.Max(), Is.LessThan(0.75f));
        Assert.That(values.Average(v => (double)v), Is.EqualTo(0.25).Within(0.007));
    }

    [Test]
    public void FillUniform_AndFillNormal_RejectBadParameters()
    {
        var rng = new Philox(0, 0);
        var buffer = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.FillUniform(buffer, 1f, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.FillUniform(buffer, float.NaN, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.FillNormal(buffer, 0f, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.FillNormal(buffer, 0f, float.NaN));
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(10)]
    [TestCase(1_000_003)]
    [TestCase(int.MaxValue)]
    public void NextInt_StaysInRange(int max)
    {
        var rng = new Philox(8, 0);
        int[] draws = Enumerable.Range(0, 10_000).Select(_ => rng.NextInt(max)).ToArray();
        Assert.That(draws.Min(), Is.GreaterThanOrEqualTo(0));
        Assert.That(draws.Max(), Is.LessThan(max));
        if (max >= 10)
        {
            Assert.That(draws.Distinct().Count(), Is.GreaterThan(Math.Min(max, 10_000) / 2), "draws are spread over the range");
        }
    }

    [Test]
    public void NextInt_IsUnbiasedAcrossBuckets()
    {
        // Chi-squared over 7 buckets (6 degrees of freedom); 22.46 is the 0.999 quantile.
        var rng = new Philox(12, 0);
        const int n = 70_000;
        var counts = new int[7];
        for (int i = 0; i < n; i++)
        {
            counts[rng.NextInt(7)]++;
        }

        double expected = n / 7.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.That(chi2, Is.LessThan(22.46), string.Join(",", counts));
    }

    [Test]
    public void NextInt_RejectsTheWordsThatWouldBiasALargeBound()
    {
        // For s = 1.5 * 2^30, multiply-shift alone maps 3 words to 2/3 of the results and 2 words
        // to the rest, so those "heavy" results would get 75% of the draws instead of 2/3.
        const int s = 1_610_612_736;
        static bool Heavy(long r) => CeilDiv((r + 1) << 32, s) - CeilDiv(r << 32, s) == 3;
        static long CeilDiv(long a, long b) => (a + b - 1) / b;

        var rng = new Philox(77, 0);
        const int n = 30_000;
        int heavy = 0;
        for (int i = 0; i < n; i++)
        {
            heavy += Heavy(rng.NextInt(s)) ? 1 : 0;
        }

        // Standard error is about 0.0027; the biased value 0.75 is 30 of them away.
        Assert.That(heavy / (double)n, Is.EqualTo(2.0 / 3.0).Within(0.015));
    }

    [Test]
    public void NextInt_RejectsNonPositiveBound()
    {
        var rng = new Philox(0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(-5));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(1000)]
    public void Permutation_ContainsEveryIndexOnce(int n)
    {
        int[] p = new Philox(1, RngStreams.DataOrder).Permutation(n);
        Assert.That(p.Order(), Is.EqualTo(Enumerable.Range(0, n)));
    }

    [Test]
    public void Permutation_IsShuffledDeterministicAndRejectsNegativeLength()
    {
        int[] a = new Philox(1, RngStreams.DataOrder).Permutation(1000);
        int[] b = new Philox(1, RngStreams.DataOrder).Permutation(1000);
        int[] c = new Philox(2, RngStreams.DataOrder).Permutation(1000);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a, Is.Not.EqualTo(c));
        Assert.That(a.Where((v, i) => v == i).Count(), Is.LessThan(10), "a shuffle leaves ~1 fixed point");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Philox(0, 0).Permutation(-1));
    }

    [Test]
    public void Shuffle_PutsEachItemInEachPlaceAboutEqually()
    {
        // Item 0 of a 4-element list should land in each slot with probability 1/4.
        var rng = new Philox(21, 0);
        var slots = new int[4];
        Span<int> items = stackalloc int[4];
        for (int t = 0; t < 40_000; t++)
        {
            for (int i = 0; i < 4; i++)
            {
                items[i] = i;
            }

            rng.Shuffle(items);
            slots[items.IndexOf(0)]++;
        }

        Assert.That(slots, Has.All.InRange(9_600, 10_400), string.Join(",", slots));
    }
}
