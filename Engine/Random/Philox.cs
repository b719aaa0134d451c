namespace SparseNet.Engine.Random;

/// <summary>
/// Philox4x32-10 counter-based generator (Salmon, Moraes, Dror and Shaw, "Parallel random
/// numbers: as easy as 1, 2, 3", SC'11), as specified by Random123.
/// </summary>
/// <remarks>
/// <para>
/// Every output is a pure function of (seed, stream, position): the key is the seed's two
/// 32-bit halves, counter words 0–1 hold the block index and words 2–3 hold the stream. So
/// two streams never share a counter value and never overlap, and a result does not depend
/// on the machine or on how work is split across threads (see <see cref="Block"/>).
/// </para>
/// <para>An instance is not thread safe; give each thread its own stream or position.</para>
/// </remarks>
public sealed class Philox
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;
    private const double TwoPi = 2.0 * Math.PI;

    private PhiloxBlock _block;
    private ulong _blockIndex;

    // Index (0-4) of the next unused word of _block; 4 means _block is used up.
    private int _word;

    /// <summary>Creates a generator positioned at the first number of <paramref name="stream"/>.</summary>
    /// <param name="seed">Experiment seed; becomes the Philox key.</param>
    /// <param name="stream">Independent stream, e.g. one of <see cref="RngStreams"/>.</param>
    public Philox(ulong seed, ulong stream)
    {
        Seed = seed;
        Stream = stream;
        _word = 4;
    }

    /// <summary>The seed (Philox key) this generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>The stream (counter words 2–3) this generator draws from.</summary>
    public ulong Stream { get; }

    /// <summary>
    /// Number of 32-bit words consumed so far. Setting it jumps anywhere in the stream in
    /// constant time, which lets a consumer give each epoch or layer its own fixed region.
    /// </summary>
    public ulong Position
    {
        get => _word == 4 ? _blockIndex * 4 : (_blockIndex - 1) * 4 + (ulong)_word;
        set
        {
            _blockIndex = value / 4;
            _word = (int)(value % 4);
            if (_word == 0)
            {
                _word = 4;
            }
            else
            {
                _block = Block(Seed, Stream, _blockIndex);
                _blockIndex++;
            }
        }
    }

    /// <summary>
    /// Philox4x32-10 of counter (<paramref name="counter"/> low, high, <paramref name="stream"/>
    /// low, high) under key (<paramref name="seed"/> low, high): block number
    /// <paramref name="counter"/> of a stream.
    /// </summary>
    /// <param name="seed">Seed; its low and high halves are key words 0 and 1.</param>
    /// <param name="stream">Stream; its low and high halves are counter words 2 and 3.</param>
    /// <param name="counter">Block index; its low and high halves are counter words 0 and 1.</param>
    /// <returns>The four output words.</returns>
    public static PhiloxBlock Block(ulong seed, ulong stream, ulong counter) =>
        Compute((uint)counter, (uint)(counter >> 32), (uint)stream, (uint)(stream >> 32), (uint)seed, (uint)(seed >> 32));

    /// <summary>
    /// The raw Philox4x32-10 bijection on a 128-bit counter (c0..c3) under a 64-bit key (k0, k1),
    /// word for word as in Random123's <c>philox4x32_R(10, ctr, key)</c>.
    /// </summary>
    /// <param name="c0">Counter word 0.</param>
    /// <param name="c1">Counter word 1.</param>
    /// <param name="c2">Counter word 2.</param>
    /// <param name="c3">Counter word 3.</param>
    /// <param name="k0">Key word 0.</param>
    /// <param name="k1">Key word 1.</param>
    /// <returns>The four output words.</returns>
    internal static PhiloxBlock Compute(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            // Random123 bumps the key before every round but the first.
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }

            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n1 = (uint)p1;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            uint n3 = (uint)p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }

        return new PhiloxBlock(c0, c1, c2, c3);
    }

    /// <summary>Next uniformly distributed 32-bit word.</summary>
    public uint NextUInt32()
    {
        if (_word == 4)
        {
            _block = Block(Seed, Stream, _blockIndex);
            _blockIndex++;
            _word = 0;
        }

        return _block[_word++];
    }

    /// <summary>Uniform in [0, 1), from the top 24 bits of one word (every float is exact).</summary>
    public float NextSingle() => (NextUInt32() >> 8) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1), from 53 bits of two words (every double is exact).</summary>
    public double NextDouble()
    {
        ulong hi = NextUInt32() >> 5;
        ulong lo = NextUInt32() >> 6;
        return ((hi << 26) | lo) * (1.0 / (1UL << 53));
    }

    /// <summary>Standard normal sample (Box–Muller, cosine branch); uses two words.</summary>
    public float NextNormal()
    {
        (double r, double theta) = PolarPair();
        return (float)(r * Math.Cos(theta));
    }

    /// <summary>
    /// Fills <paramref name="dest"/> with normal samples of the given mean and standard deviation.
    /// </summary>
    /// <remarks>
    /// Both Box–Muller branches are used (two words per two samples), and a final odd element
    /// takes the cosine branch of a fresh pair, so a shorter fill is a prefix of a longer one.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="std"/> is negative or not finite.</exception>
    public void FillNormal(Span<float> dest, float mean, float std)
    {
        if (!(std >= 0f) || float.IsInfinity(std) || !float.IsFinite(mean))
        {
            throw new ArgumentOutOfRangeException(nameof(std), $"FillNormal: mean {mean} and std {std} must be finite with std >= 0.");
        }

        int i = 0;
        for (; i + 1 < dest.Length; i += 2)
        {
            (double r, double theta) = PolarPair();
            (double sin, double cos) = Math.SinCos(theta);
            dest[i] = mean + std * (float)(r * cos);
            dest[i + 1] = mean + std * (float)(r * sin);
        }

        if (i < dest.Length)
        {
            dest[i] = mean + std * NextNormal();
        }
    }

    /// <summary>Fills <paramref name="dest"/> with samples uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or <paramref name="low"/> &gt; <paramref name="high"/>.</exception>
    public void FillUniform(Span<float> dest, float low, float high)
    {
        if (!float.IsFinite(low) || !float.IsFinite(high) || low > high)
        {
            throw new ArgumentOutOfRangeException(nameof(low), $"FillUniform: bounds [{low}, {high}) must be finite with low <= high.");
        }

        float width = high - low;
        for (int i = 0; i < dest.Length; i++)
        {
            float v = low + width * NextSingle();

            // Rounding of low + width*u can land exactly on high; keep the interval half-open.
            dest[i] = v < high ? v : (low < high ? MathF.BitDecrement(high) : low);
        }
    }

    /// <summary>Unbiased integer in [0, <paramref name="maxExclusive"/>) (Lemire's multiply-and-reject).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "NextInt: the bound must be positive.");
        }

        uint s = (uint)maxExclusive;
        ulong m = (ulong)NextUInt32() * s;
        uint low = (uint)m;
        if (low < s)
        {
            // 2^32 mod s: the count of low products that would make some results more likely.
            uint threshold = (0u - s) % s;
            while (low < threshold)
            {
                m = (ulong)NextUInt32() * s;
                low = (uint)m;
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates, from the end).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A uniformly random permutation of 0 .. <paramref name="n"/> − 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    public int[] Permutation(int n)
    {
        if (n < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "Permutation: length must be >= 0.");
        }

        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = i;
        }

        Shuffle(result.AsSpan());
        return result;
    }

    // Radius and angle of a Box-Muller pair. u1 is taken in (0, 1] so log(u1) is finite.
    private (double R, double Theta) PolarPair()
    {
        double u1 = (NextUInt32() + 1.0) * (1.0 / 4294967296.0);
        double u2 = NextUInt32() * (1.0 / 4294967296.0);
        return (Math.Sqrt(-2.0 * Math.Log(u1)), TwoPi * u2);
    }
}
