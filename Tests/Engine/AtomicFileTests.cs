using System.Text;
using SparseNet.Engine.IO;

namespace SparseNet.Tests.Engine;

public class AtomicFileTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-atomic-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void WriteAllBytes_CreatesMissingDirectoriesAndReplacesContent()
    {
        string path = Path.Combine(_dir, "a", "b", "file.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        AtomicFile.WriteAllBytes(path, new byte[] { 9 });
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 9 }));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "no temp file left behind");
    }

    [Test]
    public void WriteAllText_WritesUtf8WithoutBom()
    {
        string path = Path.Combine(_dir, "t.json");
        AtomicFile.WriteAllText(path, "{\"µ\":1}");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Encoding.UTF8.GetBytes("{\"µ\":1}")));
    }

    [Test]
    public void Write_StreamsContent()
    {
        string path = Path.Combine(_dir, "s.bin");
        AtomicFile.Write(path, s => s.Write([4, 5, 6, 7]));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 4, 5, 6, 7 }));
    }

    [Test]
    public void Write_ThatFails_KeepsTheOldFileAndRemovesTheTemp()
    {
        string path = Path.Combine(_dir, "keep.txt");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([1, 2, 3]);
            throw new InvalidOperationException("boom");
        }));
        Assert.That(File.ReadAllText(path), Is.EqualTo("old"));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(Values.Of(path)));
    }

    [Test]
    public void Write_ToADirectoryPath_Throws()
    {
        Assert.Throws<IOException>(() => AtomicFile.WriteAllText(_dir, "x"));
        Assert.Throws<ArgumentException>(() => AtomicFile.WriteAllText(" ", "x"));
    }
}
