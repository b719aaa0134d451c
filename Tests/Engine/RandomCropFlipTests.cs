using SparseNet.Engine;
using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class RandomCropFlipTests
{
    // A 2-channel 3x4 image whose values name their place: channel·100 + row·10 + column.
    private static float[] Numbered(int channels = 2, int height = 3, int width = 4)
    {
        var image = new float[channels * height * width];
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    image[(((c * height) + y) * width) + x] = (c * 100) + (y * 10) + x;
                }
            }
        }

        return image;
    }

    // Naive reference: mirror, pad explicitly to (h + 2p) x (w + 2p), cut the window at (top, left).
    private static float[] Reference(float[] image, int channels, int height, int width, int padding, float[] pad, bool flipped, int top, int left)
    {
        int ph = height + (2 * padding), pw = width + (2 * padding);
        var output = new float[image.Length];
        for (int c = 0; c < channels; c++)
        {
            var padded = new float[ph, pw];
            for (int y = 0; y < ph; y++)
            {
                for (int x = 0; x < pw; x++)
                {
                    int sy = y - padding, sx = x - padding;
                    bool inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                    padded[y, x] = inside ? image[(((c * height) + sy) * width) + (flipped ? width - 1 - sx : sx)] : pad[c];
                }
            }

            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    output[(((c * height) + y) * width) + x] = padded[y + top, x + left];
                }
            }
        }

        return output;
    }

    // The first example position whose draw is (flipped, top, left).
    private static int Find(RandomCropFlip augmentation, ulong seed, int iteration, bool flipped, int top, int left)
    {
        for (int e = 0; e < 100_000; e++)
        {
            if (augmentation.Draw(seed, iteration, e) == (flipped, top, left))
            {
                return e;
            }
        }

        throw new InvalidOperationException("no such draw");
    }

    [Test]
    public void AFlipAndAnOffsetCrop_GiveTheHandComputedImage()
    {
        var augmentation = new RandomCropFlip([2, 3, 4], padding: 1, padValues: [-1f, -2f]);

        // Flipped, then the window one row up (top 0) and one column right (left 2) of centre.
        int e = Find(augmentation, seed: 5, iteration: 3, flipped: true, top: 0, left: 2);
        var batch = new float[(e + 1) * 24];
        Numbered().CopyTo(batch, e * 24);
        augmentation.Apply(batch, e + 1, seed: 5, iteration: 3);
        float[] expected =
        [
            -1, -1, -1, -1,
            2, 1, 0, -1,
            12, 11, 10, -1,
            -2, -2, -2, -2,
            102, 101, 100, -2,
            112, 111, 110, -2,
        ];
        Assert.That(batch.AsSpan(e * 24, 24).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void TheCentredUnflippedDraw_LeavesTheImageAlone()
    {
        var augmentation = new RandomCropFlip([2, 3, 4], padding: 2);
        int e = Find(augmentation, seed: 1, iteration: 0, flipped: false, top: 2, left: 2);
        var batch = new float[(e + 1) * 24];
        Numbered().CopyTo(batch, e * 24);
        augmentation.Apply(batch, e + 1, seed: 1, iteration: 0);
        Assert.That(batch.AsSpan(e * 24, 24).ToArray(), Is.EqualTo(Numbered()));
    }

    [Test]
    public void EveryExampleOfABatch_MatchesTheReferenceForItsDraw()
    {
        const int count = 40;
        var augmentation = new RandomCropFlip([2, 3, 4], padding: 2, padValues: [0.5f, -0.25f]);
        var batch = new float[count * 24];
        for (int e = 0; e < count; e++)
        {
            Numbered().Select(v => v + (1000 * e)).ToArray().CopyTo(batch, e * 24);
        }

        augmentation.Apply(batch, count, seed: 11, iteration: 7);
        for (int e = 0; e < count; e++)
        {
            (bool flipped, int top, int left) = augmentation.Draw(11, 7, e);
            float[] image = Numbered().Select(v => v + (1000 * e)).ToArray();
            Assert.That(batch.AsSpan(e * 24, 24).ToArray(), Is.EqualTo(Reference(image, 2, 3, 4, 2, [0.5f, -0.25f], flipped, top, left)), $"example {e}");
        }
    }

    [Test]
    public void TheSameKey_GivesTheSameBatch_AndAnotherIterationOrSeedAnother()
    {
        var augmentation = new RandomCropFlip([3, 8, 8]);
        var source = Enumerable.Range(0, 16 * 192).Select(i => (float)i).ToArray();
        float[] Augmented(ulong seed, int iteration)
        {
            var batch = (float[])source.Clone();
            augmentation.Apply(batch, 16, seed, iteration);
            return batch;
        }

        float[] reference = Augmented(3, 10);
        Assert.That(reference, Is.Not.EqualTo(source));
        Assert.That(Augmented(3, 10), Is.EqualTo(reference));
        Assert.That(Augmented(3, 11), Is.Not.EqualTo(reference));
        Assert.That(Augmented(4, 10), Is.Not.EqualTo(reference));

        // A shorter batch is augmented as the head of a longer one: draws depend on the position, not the batch size.
        var head = source[..(5 * 192)];
        augmentation.Apply(head, 5, 3, 10);
        Assert.That(head, Is.EqualTo(reference[..(5 * 192)]));
    }

    [Test]
    public void Draws_FlipHalfTheTime_AndSpreadOffsetsEvenly()
    {
        var augmentation = new RandomCropFlip([3, 32, 32], padding: 4);
        const int draws = 9000;
        int flips = 0;
        var tops = new int[9];
        var lefts = new int[9];
        for (int i = 0; i < draws; i++)
        {
            (bool flipped, int top, int left) = augmentation.Draw(seed: 2, iteration: i / 128, example: i % 128);
            flips += flipped ? 1 : 0;
            tops[top]++;
            lefts[left]++;
        }

        // 5 standard deviations: 0.5 ± 0.026 for flips, 1000 ± 149 per offset.
        Assert.That(flips / (double)draws, Is.InRange(0.474, 0.526));
        Assert.That(tops, Is.All.InRange(851, 1149));
        Assert.That(lefts, Is.All.InRange(851, 1149));
    }

    [Test]
    public void WithoutFlips_NothingIsFlipped_AndWithoutPaddingNothingMoves()
    {
        var cropOnly = new RandomCropFlip([1, 4, 4], padding: 4, flip: false);
        Assert.That(Enumerable.Range(0, 200).Select(e => cropOnly.Draw(1, 0, e).Flipped), Is.All.False);
        var flipOnly = new RandomCropFlip([1, 4, 4], padding: 0);
        Assert.That(Enumerable.Range(0, 200).Select(e => (flipOnly.Draw(1, 0, e).Top, flipOnly.Draw(1, 0, e).Left)), Is.All.EqualTo((0, 0)));
        Assert.That(Enumerable.Range(0, 200).Count(e => flipOnly.Draw(1, 0, e).Flipped), Is.InRange(60, 140));
    }

    [Test]
    public void For_UsesTheDatasetsBlackLevel_AndRefusesNonImages()
    {
        var data = new Dataset(new float[2 * 12], [0, 1], [2, 2, 3], 2) { BlackLevel = [-1.5f, 2f] };
        var augmentation = RandomCropFlip.For(data);
        Assert.That((augmentation.Padding, augmentation.Flip), Is.EqualTo((4, true)));
        Assert.That(augmentation.PadValues, Is.EqualTo(Values.Of(-1.5f, 2f)));
        Assert.That(augmentation.ImageShape, Is.EqualTo(Values.Of(2, 2, 3)));
        Assert.That(RandomCropFlip.For(new Dataset(new float[12], [0], [2, 2, 3], 2)).PadValues, Is.EqualTo(Values.Of(0f, 0f)));
        var e = Assert.Throws<SettingsException>(() => RandomCropFlip.For(new Dataset(new float[6], [0], [6], 2)));
        Assert.That(e!.Message, Does.Contain("[6]"));
    }

    [Test]
    public void BadArguments_AreRejectedNamingTheValues()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new RandomCropFlip([3, 32])).Message, Does.Contain("[3,32]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RandomCropFlip([3, 4, 4], padding: -1));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new RandomCropFlip([3, 4, 4], padValues: [1f, 2f])).Message, Does.Contain("(3)"));
        var augmentation = new RandomCropFlip([1, 2, 2]);
        Assert.That(Assert.Throws<ArgumentException>(() => augmentation.Apply(new float[7], 2, 0, 0)).Message, Does.Contain("need 8 values, the batch holds 7"));
        Assert.Throws<ArgumentOutOfRangeException>(() => augmentation.Apply(new float[8], 2, 0, -1));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new Dataset(new float[12], [0], [2, 2, 3], 2) { BlackLevel = [1f] }).Message, Does.Contain("one finite value per channel (2"));
    }
}
