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
}
