using System.Buffers.Binary;
using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class IdxReaderTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-idx-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Put(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadImages_RawOrGzipped_ReturnsDimsAndPixels(bool gzip)
    {
        byte[] raw = IdxTestFiles.Images(5, 3, 2);

        // A gzipped file with no .gz suffix proves detection is by content, not by name.
        string path = Put("images.idx", gzip ? IdxTestFiles.Gzip(raw) : raw);
        IdxImages images = IdxReader.ReadImages(path);
        Assert.That((images.Count, images.Rows, images.Cols), Is.EqualTo((5, 3, 2)));
        Assert.That(images.Pixels, Is.EqualTo(raw[16..]));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadLabels_RawOrGzipped_ReturnsLabels(bool gzip)
    {
        byte[] raw = IdxTestFiles.Labels(3, 1, 4, 1, 5);
        string path = Put("labels.gz.not", gzip ? IdxTestFiles.Gzip(raw) : raw);
        Assert.That(IdxReader.ReadLabels(path), Is.EqualTo(raw[8..]));
    }

    [Test]
    public void ReadImages_ZeroImages_IsValid()
    {
        IdxImages images = IdxReader.ReadImages(Put("empty", IdxTestFiles.Images(0, 28, 28)));
        Assert.That(images.Count, Is.Zero);
        Assert.That(images.Pixels, Is.Empty);
    }

    [Test]
    public void MissingFile_ThrowsFileNotFoundWithThePath()
    {
        string path = Path.Combine(_dir, "absent-idx3-ubyte");
        var e = Assert.Throws<FileNotFoundException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain(path));
        Assert.Throws<FileNotFoundException>(() => IdxReader.ReadLabels(path));
    }

    [Test]
    public void BadMagic_SaysWhatWasExpectedAndFound()
    {
        byte[] bytes = IdxTestFiles.Images(1, 2, 2);
        BinaryPrimitives.WriteInt32BigEndian(bytes, 1234);
        string path = Put("bad", bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain("expected 2051 (images), found 1234").And.Contain(path));
    }

    [Test]
    public void LabelsFileReadAsImages_IsRejectedWithAHint()
    {
        string path = Put("labels", IdxTestFiles.Labels(1, 2, 3, 4, 5, 6, 7, 8));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain("found 2049 (that is a labels file)"));
        var e2 = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(Put("images", IdxTestFiles.Images(1, 2, 2))));
        Assert.That(e2!.Message, Does.Contain("expected 2049 (labels), found 2051"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TruncatedImages_ReportDeclaredAndPresentBytes(bool gzip)
    {
        byte[] raw = IdxTestFiles.Images(10, 28, 28)[..(16 + 1000)];
        string path = Put("trunc", gzip ? IdxTestFiles.Gzip(raw) : raw);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain("declares 10 images of 28x28 = 7840 bytes but only 1000 present"));
    }

    [Test]
    public void TruncatedLabels_AndShortHeaders_AreRejected()
    {
        byte[] labels = IdxTestFiles.Labels(1, 2, 3, 4)[..10];
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(Put("l", labels)));
        Assert.That(e!.Message, Does.Contain("declares 4 labels = 4 bytes but only 2 present"));

        var e2 = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(Put("h", IdxTestFiles.Images(1, 2, 2)[..12])));
        Assert.That(e2!.Message, Does.Contain("12 bytes is too short for the 16-byte images header"));
    }

    [Test]
    public void TrailingBytes_AreRejected()
    {
        byte[] bytes = [.. IdxTestFiles.Labels(1, 2), 7];
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(Put("t", bytes)));
        Assert.That(e!.Message, Does.Contain("more data"));
    }

    [TestCase(-5, 28, 28, "image count is negative (-5)")]
    [TestCase(1, -28, 28, "rows is negative (-28)")]
    [TestCase(1, 0, 28, "images of 0x28 pixels make no sense")]
    [TestCase(1, 28, 0, "images of 28x0 pixels make no sense")]
    [TestCase(int.MaxValue, 65536, 65536, "more than an array can hold")]
    public void NonsensicalDims_AreRejected(int count, int rows, int cols, string message)
    {
        byte[] header = IdxTestFiles.Images(0, 1, 1);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(Put("dims", header)));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void CorruptGzip_IsReportedWithThePath()
    {
        byte[] gz = IdxTestFiles.Gzip(IdxTestFiles.Images(20, 28, 28, i => (byte)(i * 7919 % 251)));
        for (int i = 20; i < gz.Length - 8; i += 3)
        {
            gz[i] ^= 0x5A;
        }

        string path = Put("corrupt.gz", gz);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain(path));
    }

    // A header claiming far more than the file holds, followed by a few payload bytes.
    private static byte[] LabelsHeader(int count, int payload)
    {
        byte[] bytes = IdxTestFiles.Labels(new byte[payload]);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        return bytes;
    }

    private static long AllocatedBy(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        read();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private const long FewMiB = 8L << 20;

    [Test]
    public void GzippedLabels_DeclaringAlmost2GiB_FailAsTruncatedWithoutAllocatingIt()
    {
        int count = Array.MaxLength;
        string path = Put("huge-labels.gz", IdxTestFiles.Gzip(LabelsHeader(count, payload: 5)));
        InvalidDataException? e = null;
        long allocated = AllocatedBy(() => e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path)));
        Assert.That(e!.Message, Does.Contain(path).And.Contain($"truncated: declares {count} labels = {count} bytes but only 5 present"));
        Assert.That(allocated, Is.LessThan(FewMiB));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Labels_DeclaringMoreThanAnArrayCanHold_AreRejectedUpFront(bool gzip)
    {
        byte[] raw = LabelsHeader(int.MaxValue, payload: 5);
        string path = Put("max-labels", gzip ? IdxTestFiles.Gzip(raw) : raw);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain($"declares {int.MaxValue} labels").And.Contain("more than an array can hold"));
    }

    [Test]
    public void GzippedImages_DeclaringAlmost2GiB_FailAsTruncatedWithoutAllocatingIt()
    {
        int count = Array.MaxLength / (28 * 28);
        long size = (long)count * 28 * 28;
        byte[] raw = IdxTestFiles.Images(0, 28, 28);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), count);
        string path = Put("huge-images.gz", IdxTestFiles.Gzip([.. raw, 1, 2, 3, 4, 5]));
        InvalidDataException? e = null;
        long allocated = AllocatedBy(() => e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path)));
        Assert.That(e!.Message, Does.Contain(path).And.Contain($"truncated: declares {count} images of 28x28 = {size} bytes but only 5 present"));
        Assert.That(allocated, Is.LessThan(FewMiB));
    }

    [Test]
    public void RawLabels_DeclaringTooMany_AreRejectedBeforeAllocating()
    {
        string path = Put("raw-labels", LabelsHeader(Array.MaxLength, payload: 3));
        InvalidDataException? e = null;
        long allocated = AllocatedBy(() => e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path)));
        Assert.That(e!.Message, Does.Contain(path).And.Contain($"truncated: declares {Array.MaxLength} labels = {Array.MaxLength} bytes but only 3 present"));

        // The raw path never allocates a payload buffer for a count it can see is false.
        Assert.That(allocated, Is.LessThan(1L << 20));
    }

    [Test]
    public void GzippedImages_LargerThanTheFirstChunk_AreReadWhole()
    {
        // 3000 images of 28x28 = 2,352,000 bytes: the buffer has to grow twice past its first 1 MiB.
        byte[] raw = IdxTestFiles.Images(3000, 28, 28, i => (byte)(i * 31 % 251));
        IdxImages images = IdxReader.ReadImages(Put("big.gz", IdxTestFiles.Gzip(raw)));
        Assert.That(images.Count, Is.EqualTo(3000));
        Assert.That(images.Pixels, Is.EqualTo(raw[16..]));
    }

    [Test]
    public void GzippedImages_TruncatedAfterTheBufferGrew_ReportWhatWasPresent()
    {
        byte[] raw = IdxTestFiles.Images(3000, 28, 28)[..(16 + (2500 * 784))];
        string path = Put("big-trunc.gz", IdxTestFiles.Gzip(raw));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.That(e!.Message, Does.Contain("declares 3000 images of 28x28 = 2352000 bytes but only 1960000 present"));
    }

    [Test]
    public void GzippedImages_WithTrailingData_AreRejected()
    {
        byte[] raw = [.. IdxTestFiles.Images(2, 2, 2), 9];
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(Put("long.gz", IdxTestFiles.Gzip(raw))));
        Assert.That(e!.Message, Does.Contain("more data"));
    }
}
