using System.Diagnostics;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Tests.Kernels;

public class SelectionTests
{
    private static readonly int[] Sizes =
        [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 63, 100, 127, 128, 129, 130, 255, 257, 511, 1000, 1023, 8191, 8192, 8193,
         2047, 2048, 2049, 2050, 3001, 4097, 5003, 100_000];

    private static readonly string[] Patterns =
        ["uniform", "normal", "sorted", "reversed", "all-equal", "two-values", "organ-pipe", "sawtooth",
         "many-duplicates", "signed-zeros", "negative-and-positive", "subnormals", "infinities", "median-of-3-killer"];

    /// <summary>The three entry points: the public dispatcher and each algorithm on its own.</summary>
    private static readonly (string Name, Func<float[], int, float> Select)[] Algorithms =
    [
        ("KthSmallest(Span)", (a, k) => Selection.KthSmallest(a.AsSpan(), k)),
        ("KthSmallest(ReadOnlySpan)", (a, k) => Selection.KthSmallest((ReadOnlySpan<float>)a, k)),
        ("IntroSelect", (a, k) => Selection.IntroSelect(a, k)),
        ("RadixSelect", (a, k) => Selection.RadixSelect(a, k)),
        ("IntroSelect, hand-over after 1 partition", (a, k) => Selection.IntroSelect(a, k, 1)),
        ("IntroSelect, hand-over after 3 partitions", (a, k) => Selection.IntroSelect(a, k, 3)),
    ];

    private static float[] Make(string pattern, int n, Random rng)
    {
        var a = new float[n];
        switch (pattern)
        {
            case "uniform":
                for (int i = 0; i < n; i++)
                {
                    a[i] = rng.NextSingle();
                }

                break;
            case "normal":
                for (int i = 0; i < n; i++)
                {
                    a[i] = (float)Normal(rng);
                }

                break;
            case "sorted":
            case "reversed":
                for (int i = 0; i < n; i++)
                {
                    a[i] = pattern == "sorted" ? i * 0.5f : (n - i) * 0.5f;
                }

                break;
            case "all-equal":
                Array.Fill(a, 3.25f);
                break;
            case "two-values":
                for (int i = 0; i < n; i++)
                {
                    a[i] = rng.Next(2) == 0 ? -1.5f : 2f;
                }

                break;
            case "organ-pipe":
                for (int i = 0; i < n; i++)
                {
                    a[i] = Math.Min(i, n - 1 - i);
                }

                break;
            case "sawtooth":
                for (int i = 0; i < n; i++)
                {
                    a[i] = i % 37;
                }

                break;
            case "many-duplicates":
                for (int i = 0; i < n; i++)
                {
                    a[i] = rng.Next(10) * 0.125f;
                }

                break;
            case "signed-zeros":
                for (int i = 0; i < n; i++)
                {
                    a[i] = rng.Next(4) switch { 0 => 0f, 1 => -0f, 2 => rng.NextSingle(), _ => -rng.NextSingle() };
                }

                break;
            case "negative-and-positive":
                for (int i = 0; i < n; i++)
                {
                    a[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)));
                }

                break;
            case "subnormals":
                for (int i = 0; i < n; i++)
                {
                    float sub = BitConverter.Int32BitsToSingle(rng.Next(1, 1 << 23));
                    a[i] = rng.Next(5) switch { 0 => -sub, 1 => float.Epsilon, 2 => rng.NextSingle() * 1e-37f, _ => sub };
                }

                break;
            case "infinities":
                for (int i = 0; i < n; i++)
                {
                    a[i] = rng.Next(6) switch { 0 => float.PositiveInfinity, 1 => float.NegativeInfinity, 2 => float.MaxValue, 3 => float.MinValue, _ => (float)Normal(rng) };
                }

                break;
            case "median-of-3-killer":
                MedianOf3Killer(a);
                break;
            default:
                throw new ArgumentException(pattern);
        }

        return a;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Musser's sequence that makes median-of-3 (first, middle, last) quickselect quadratic.</summary>
    private static void MedianOf3Killer(float[] a)
    {
        int n = a.Length;
        int half = n / 2;
        for (int i = 1; i <= half; i++)
        {
            a[i - 1] = (i % 2 == 1) ? i : half + i - 1;
            a[half + i - 1] = 2 * i;
        }

        if (n % 2 == 1)
        {
            a[n - 1] = n;
        }
    }

    private static int[] Ranks(int n, Random rng) => [0, n - 1, n / 2, n / 5, rng.Next(n), rng.Next(n)];

    [Test]
    public void EveryAlgorithm_MatchesFullSort_OnEveryPatternSizeAndRank()
    {
        var rng = new Random(1234);
        int checks = 0;
        foreach (string pattern in Patterns)
        {
            foreach (int n in Sizes)
            {
                float[] values = Make(pattern, n, rng);
                float[] sorted = (float[])values.Clone();
                Array.Sort(sorted);
                foreach (int k in Ranks(n, rng).Distinct())
                {
                    foreach (var (name, select) in Algorithms)
                    {
                        float actual = select((float[])values.Clone(), k);

                        // NUnit's float equality is ==, so +0 and −0 match, as they compare equal.
                        Assert.That(actual, Is.EqualTo(sorted[k]), $"{name}, {pattern}, n = {n}, k = {k}");
                        checks++;
                    }
                }
            }
        }

        Assert.That(checks, Is.GreaterThan(2000));
    }

    [Test]
    public void ZeroResult_IsPositiveZero_WhicheverZeroTheInputHeld()
    {
        foreach (var (name, select) in Algorithms)
        {
            foreach (int n in new[] { 5, 3000 })
            {
                var onlyNegativeZeros = new float[n];
                Array.Fill(onlyNegativeZeros, -0f);
                onlyNegativeZeros[0] = -1f;
                onlyNegativeZeros[n - 1] = 1f;
                float r = select(onlyNegativeZeros, n / 2);
                Assert.That(float.IsPositive(r) && r == 0f, Is.True, $"{name}, n = {n}: got {r}");
            }
        }
    }

    [Test]
    public void ReadOnlyOverload_LeavesInputUntouched()
    {
        var rng = new Random(5);
        float[] values = Make("normal", 10_000, rng);
        float[] copy = (float[])values.Clone();
        _ = Selection.KthSmallest((ReadOnlySpan<float>)values, 2000);
        Assert.That(values, Is.EqualTo(copy).AsCollection);
    }

    [Test]
    public void AdversarialInputs_StayLinear_ForIntroSelect()
    {
        // A quadratic introselect would need seconds per case at this size; linear ones take ~1 ms.
        const int n = 200_000;
        var rng = new Random(99);
        var watch = Stopwatch.StartNew();
        foreach (string pattern in new[] { "sorted", "reversed", "organ-pipe", "sawtooth", "all-equal", "two-values", "median-of-3-killer" })
        {
            float[] values = Make(pattern, n, rng);
            float[] sorted = (float[])values.Clone();
            Array.Sort(sorted);
            foreach (int k in new[] { 0, n / 2, n / 5, n - 1 })
            {
                Assert.That(Selection.IntroSelect((float[])values.Clone(), k), Is.EqualTo(sorted[k]), $"{pattern}, k = {k}");
            }
        }

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void NaN_Throws_NamingTheIndex()
    {
        foreach (int n in new[] { 1, 7, 64, 65, 200, 5000 })
        {
            foreach (int at in new[] { 0, n / 2, n - 1 })
            {
                var values = new float[n];
                values[at] = float.NaN;
                var ex = Assert.Throws<ArgumentException>(() => Selection.KthSmallest(values.AsSpan(), 0));
                Assert.That(ex!.Message, Does.Contain($"index {at}"), $"n = {n}");
                ex = Assert.Throws<ArgumentException>(() => Selection.KthSmallest((ReadOnlySpan<float>)values, 0));
                Assert.That(ex!.Message, Does.Contain($"index {at}"), $"n = {n}");
            }
        }
    }

    [Test]
    public void IndexOfNaN_FindsTheFirstNaN_AtEveryPositionAndLength()
    {
        for (int n = 0; n <= 256; n++)
        {
            var values = new float[n];
            Assert.That(Selection.IndexOfNaN(values), Is.EqualTo(-1), $"n = {n}");
            for (int at = 0; at < n; at++)
            {
                values[at] = float.NaN;
                Assert.That(Selection.IndexOfNaN(values), Is.EqualTo(at), $"n = {n}");
                values[at] = 0;
            }
        }
    }

    [TestCase(0, 0)]
    [TestCase(5, -1)]
    [TestCase(5, 5)]
    [TestCase(5, 17)]
    public void RankOutOfRange_Throws_NamingKAndN(int n, int k)
    {
        var values = new float[n];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Selection.KthSmallest(values.AsSpan(), k));
        Assert.That(ex!.Message, Does.Contain($"k = {k}").And.Contain($"n = {n}"));
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => Selection.KthSmallest((ReadOnlySpan<float>)values, k));
        Assert.That(ex!.Message, Does.Contain($"k = {k}").And.Contain($"n = {n}"));
    }
}
