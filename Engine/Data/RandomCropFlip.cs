using SparseNet.Engine.Random;

namespace SparseNet.Engine.Data;

/// <summary>
/// The standard CIFAR augmentation of a training batch (He et al. 2016; open_lth's <c>RandomHorizontalFlip()</c> then
/// <c>RandomCrop(32, 4)</c>): each image is flipped left to right with probability 1/2, then padded by
/// <see cref="Padding"/> pixels on every side and cropped back to its size at an offset drawn uniformly from
/// 0 to 2·<see cref="Padding"/> in each direction.
/// </summary>
/// <remarks>
/// <para>
/// torchvision pads the raw image, before <c>ToTensor</c> and <c>Normalize</c>, so the padding is black (pixel 0),
/// which after normalisation is −mean/std per channel, not 0. The features here are already normalised, so the
/// padding is the dataset's <see cref="Dataset.BlackLevel"/>: the same images torchvision would produce.
/// </para>
/// <para>
/// The draws for example e of the batch trained at iteration i come from Philox(seed,
/// <see cref="RngStreams.Augmentation"/>) at word i · 2^32 + e · 16 (flip, then row offset, then column offset), so
/// they depend only on (seed, iteration, position in the batch): a run continued from iteration k augments exactly
/// as the uninterrupted run did, on any machine.
/// </para>
/// </remarks>
public sealed class RandomCropFlip
{
    // Words reserved per example: three are used, Lemire's rejection rarely takes a fourth.
    private const int WordsPerExampleShift = 4;
    private const int MaxBatch = 1 << (32 - WordsPerExampleShift);

    private readonly float[] _padValues;
    private readonly int _channels;
    private readonly int _height;
    private readonly int _width;

    /// <summary>Creates the augmentation for images of shape [channels, height, width].</summary>
    /// <param name="imageShape">Shape of one example: [channels, height, width].</param>
    /// <param name="padding">Pixels of padding on each side before the crop (0: flips only).</param>
    /// <param name="padValues">Value of the padding in each channel (see <see cref="Dataset.BlackLevel"/>); null or empty: 0.</param>
    /// <param name="flip">Whether to flip left to right with probability 1/2.</param>
    /// <exception cref="ArgumentException">The shape is not three positive dimensions, the padding is negative, or the pad values are not one finite value per channel.</exception>
    public RandomCropFlip(IReadOnlyList<int> imageShape, int padding = 4, IReadOnlyList<float>? padValues = null, bool flip = true)
    {
        ArgumentNullException.ThrowIfNull(imageShape);
        if (imageShape.Count != 3 || imageShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"RandomCropFlip: images must be [channels, height, width], got [{string.Join(',', imageShape)}].", nameof(imageShape));
        }

        if (padding < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "RandomCropFlip: padding must be >= 0.");
        }

        _channels = imageShape[0];
        _height = imageShape[1];
        _width = imageShape[2];
        padValues ??= [];
        if (padValues.Count != 0 && (padValues.Count != _channels || padValues.Any(v => !float.IsFinite(v))))
        {
            throw new ArgumentException($"RandomCropFlip: pad values [{string.Join(", ", padValues)}] must be one finite value per channel ({_channels}) or none.", nameof(padValues));
        }

        _padValues = padValues.Count == 0 ? new float[_channels] : padValues.ToArray();
        Padding = padding;
        Flip = flip;
    }

    /// <summary>Pixels of padding on each side before the crop.</summary>
    public int Padding { get; }

    /// <summary>Whether images are flipped left to right with probability 1/2.</summary>
    public bool Flip { get; }

    /// <summary>Shape of one image: [channels, height, width].</summary>
    public IReadOnlyList<int> ImageShape => [_channels, _height, _width];

    /// <summary>Value of the padding in each channel.</summary>
    public IReadOnlyList<float> PadValues => _padValues;

    /// <summary>
    /// The standard augmentation for <paramref name="data"/>: 4 pixels of padding in its <see cref="Dataset.BlackLevel"/>
    /// and flips.
    /// </summary>
    /// <exception cref="SettingsException">The examples are not images [channels, height, width].</exception>
    public static RandomCropFlip For(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureShape.Length != 3)
        {
            throw new SettingsException($"augmentation needs images [channels, height, width], but the examples are [{string.Join(',', data.FeatureShape)}]");
        }

        return new RandomCropFlip(data.FeatureShape, padding: 4, data.BlackLevel);
    }

    /// <summary>
    /// What example <paramref name="example"/> of the batch of iteration <paramref name="iteration"/> gets: whether it is
    /// flipped, and the top-left corner of the crop in the padded image (each in [0, 2·<see cref="Padding"/>]).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The iteration is negative, or the example outside [0, 2^28).</exception>
    public (bool Flipped, int Top, int Left) Draw(ulong seed, int iteration, int example)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        if ((uint)example >= MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(example), example, $"RandomCropFlip: example {example} is outside [0, {MaxBatch}).");
        }

        return Draw(new Philox(seed, RngStreams.Augmentation), iteration, example);
    }

    /// <summary>
    /// Augments the first <paramref name="count"/> images of <paramref name="batch"/> (row-major [count, channels,
    /// height, width]) in place, as drawn for iteration <paramref name="iteration"/> of a run seeded with
    /// <paramref name="seed"/> (see the remarks of <see cref="RandomCropFlip"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The batch holds fewer than <paramref name="count"/> images.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The iteration is negative, or the count outside [0, 2^28].</exception>
    public void Apply(Span<float> batch, int count, ulong seed, int iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        if ((uint)count > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"RandomCropFlip: batch of {count} images is outside [0, {MaxBatch}].");
        }

        int size = _channels * _height * _width;
        if ((long)count * size > batch.Length)
        {
            throw new ArgumentException($"RandomCropFlip: {count} images of [{_channels},{_height},{_width}] need {(long)count * size} values, the batch holds {batch.Length}.", nameof(batch));
        }

        var rng = new Philox(seed, RngStreams.Augmentation);
        Span<float> source = size <= 4096 ? stackalloc float[size] : new float[size];
        for (int e = 0; e < count; e++)
        {
            (bool flipped, int top, int left) = Draw(rng, iteration, e);
            Span<float> image = batch.Slice(e * size, size);
            if (!flipped && top == Padding && left == Padding)
            {
                continue;
            }

            image.CopyTo(source);
            Transform(source, image, flipped, top - Padding, left - Padding);
        }
    }

    private (bool Flipped, int Top, int Left) Draw(Philox rng, int iteration, int example)
    {
        rng.Position = ((ulong)iteration << 32) + ((ulong)example << WordsPerExampleShift);
        bool flipped = (rng.NextUInt32() >> 31) != 0;
        int top = rng.NextInt((2 * Padding) + 1);
        int left = rng.NextInt((2 * Padding) + 1);
        return (Flip && flipped, top, left);
    }

    // Output (y, x) is the flipped image at (y + dy, x + dx), or the channel's pad value outside it.
    private void Transform(ReadOnlySpan<float> source, Span<float> target, bool flipped, int dy, int dx)
    {
        int h = _height, w = _width;
        for (int c = 0; c < _channels; c++)
        {
            ReadOnlySpan<float> plane = source.Slice(c * h * w, h * w);
            Span<float> output = target.Slice(c * h * w, h * w);
            float pad = _padValues[c];
            for (int y = 0; y < h; y++)
            {
                Span<float> row = output.Slice(y * w, w);
                int sy = y + dy;
                if ((uint)sy >= (uint)h)
                {
                    row.Fill(pad);
                    continue;
                }

                ReadOnlySpan<float> sourceRow = plane.Slice(sy * w, w);
                for (int x = 0; x < w; x++)
                {
                    int sx = x + dx;
                    row[x] = (uint)sx >= (uint)w ? pad : sourceRow[flipped ? w - 1 - sx : sx];
                }
            }
        }
    }
}
