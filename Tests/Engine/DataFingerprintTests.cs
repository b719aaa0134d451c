using System.Diagnostics;
using System.Text.Json;
using SparseNet.Engine;
using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

/// <summary>
/// Content fingerprints of datasets and their hash cache. Every test passes its own cache directory
/// (or sets the override variable), so none writes into the real ~/.cache.
/// </summary>
public class DataFingerprintTests
{
    private string _dir = "";
    private string _cache = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("sparsenet-fingerprint-").FullName;
        _cache = Path.Combine(_dir, "cache");
        DataFingerprint.ClearMemoryCache();
    }

    [TearDown]
    public void TearDown()
    {
        DataFingerprint.ClearMemoryCache();
        Directory.Delete(_dir, recursive: true);
    }

    private string CacheFile => Path.Combine(_cache, DataFingerprint.CacheFileName);

    private string Dataset(string name, bool gzip = false, int train = 12, int test = 5)
    {
        string dir = Path.Combine(_dir, name);
        IdxTestFiles.WriteDataset(dir, train, test, gzip);
        return dir;
    }

    private string Fingerprint(string spec) => DatasetCatalog.Fingerprint(spec, _cache);

    [TestCase(false)]
    [TestCase(true)]
    public void SameBytes_InTwoDirectories_GiveTheSameFingerprint(bool gzip)
    {
        string a = Fingerprint(Dataset("a", gzip));
        string b = Fingerprint(Dataset("elsewhere/b", gzip));
        Assert.That(a, Does.Match("^sha256:[0-9a-f]{64}$"));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void RawAndGzippedCopies_OfTheSameData_Differ()
    {
        Assert.That(Fingerprint(Dataset("gz", gzip: true)), Is.Not.EqualTo(Fingerprint(Dataset("raw", gzip: false))));
    }

    [Test]
    public void OneLabelByteChanged_ChangesTheFingerprint()
    {
        string dir = Dataset("a");
        string before = Fingerprint(dir);
        string labels = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        byte[] bytes = File.ReadAllBytes(labels);
        bytes[8] ^= 1;
        File.WriteAllBytes(labels, bytes);
        Assert.That(Fingerprint(dir), Is.Not.EqualTo(before));
    }

    [Test]
    public void FileGrownByAByte_WithItsWriteTimeRestored_ChangesTheFingerprint()
    {
        string dir = Dataset("a");
        string before = Fingerprint(dir);
        string images = Path.Combine(dir, "train-images-idx3-ubyte");
        DateTime written = File.GetLastWriteTimeUtc(images);
        File.AppendAllText(images, "x");
        File.SetLastWriteTimeUtc(images, written);

        // The length is part of the cache key, so neither cache hands back the old hash.
        Assert.That(Fingerprint(dir), Is.Not.EqualTo(before));
        DataFingerprint.ClearMemoryCache();
        Assert.That(Fingerprint(dir), Is.Not.EqualTo(before));
    }

    [Test]
    public void Cache_IsWrittenUnderItsDirectory_AndReadBackByANewProcess()
    {
        string dir = Dataset("a", gzip: true);
        string first = Fingerprint(dir);
        Assert.That(File.Exists(CacheFile), Is.True);
        IReadOnlyList<string> files = DatasetCatalog.Files(dir);
        using (JsonDocument cache = JsonDocument.Parse(File.ReadAllBytes(CacheFile)))
        {
            string[] paths = cache.RootElement.GetProperty("files").EnumerateArray().Select(e => e.GetProperty("path").GetString()!).ToArray();
            Assert.That(paths, Is.EquivalentTo(files));
        }

        // Plant a different hash in the cache: a fresh process (memory cleared) that reads the cache sees it.
        string planted = File.ReadAllText(CacheFile);
        using (JsonDocument cache = JsonDocument.Parse(planted))
        {
            string realHash = cache.RootElement.GetProperty("files")[0].GetProperty("sha256").GetString()!;
            File.WriteAllText(CacheFile, planted.Replace(realHash, new string('0', 64), StringComparison.Ordinal));
        }

        DataFingerprint.ClearMemoryCache();
        Assert.That(Fingerprint(dir), Is.Not.EqualTo(first), "the planted hash was read from the cache");

        // Without the memory cache or the file, it is hashed again and the true value comes back.
        DataFingerprint.ClearMemoryCache();
        File.Delete(CacheFile);
        Assert.That(Fingerprint(dir), Is.EqualTo(first));
    }

    [TestCase("{ this is not json")]
    [TestCase("")]
    [TestCase("[1, 2, 3]")]
    [TestCase("{\"version\": 99, \"files\": []}")]
    [TestCase("{\"version\": 1, \"files\": [{\"path\": 7}, {\"path\": \"x\", \"length\": \"long\"}]}")]
    public void CorruptCache_IsIgnoredAndReplaced(string content)
    {
        string dir = Dataset("a");
        string truth = DatasetCatalog.Fingerprint(dir, cacheDirectory: null);
        Directory.CreateDirectory(_cache);
        File.WriteAllText(CacheFile, content);
        DataFingerprint.ClearMemoryCache();

        Assert.That(Fingerprint(dir), Is.EqualTo(truth));
        using JsonDocument cache = JsonDocument.Parse(File.ReadAllBytes(CacheFile));
        Assert.That(cache.RootElement.GetProperty("files").GetArrayLength(), Is.EqualTo(4));
    }

    [Test]
    public void UnwritableCacheDirectory_IsNotFatal()
    {
        string dir = Dataset("a");
        File.WriteAllText(Path.Combine(_dir, "a-file"), "");

        // The cache "directory" is a path below a regular file: nothing can be created there.
        string truth = DatasetCatalog.Fingerprint(dir, cacheDirectory: null);
        DataFingerprint.ClearMemoryCache();
        Assert.That(DatasetCatalog.Fingerprint(dir, Path.Combine(_dir, "a-file", "cache")), Is.EqualTo(truth));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Files_ListsTheFourFilesInFileNamesOrder(bool gzip)
    {
        string dir = Dataset("a", gzip);
        IReadOnlyList<string> files = DatasetCatalog.Files(dir);
        Assert.That(files, Has.Count.EqualTo(4));
        for (int i = 0; i < 4; i++)
        {
            string name = DatasetCatalog.FileNames[i] + (gzip ? ".gz" : "");
            Assert.That(files[i], Is.EqualTo(Path.Combine(dir, name)));
            Assert.That(Path.IsPathFullyQualified(files[i]) && File.Exists(files[i]), Is.True, files[i]);
        }
    }

    [Test]
    public void Files_OfARelativeDirectory_AreFullPaths()
    {
        string dir = Dataset("a");
        string relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), dir);
        Assert.That(DatasetCatalog.Files(relative), Is.EqualTo(DatasetCatalog.Files(dir)));
    }

    [Test]
    public void Files_AndFingerprint_FailLikeLoad()
    {
        Assert.Throws<SettingsException>(() => DatasetCatalog.Files("cifar-10"));
        Assert.Throws<SettingsException>(() => Fingerprint("cifar-10"));
        string dir = Dataset("a");
        File.Delete(Path.Combine(dir, "t10k-images-idx3-ubyte"));
        var e = Assert.Throws<FileNotFoundException>(() => Fingerprint(dir));
        Assert.That(e!.Message, Does.Contain("'t10k-images-idx3-ubyte' (or 't10k-images-idx3-ubyte.gz')"));
    }

    [Test]
    public void Mnist10k_FingerprintIsStable()
    {
        string first = Fingerprint(DatasetCatalog.Mnist10k);
        DataFingerprint.ClearMemoryCache();
        File.Delete(CacheFile);
        string second = Fingerprint("MNIST-10K");
        Assert.That(first, Does.Match("^sha256:[0-9a-f]{64}$"));
        Assert.That(second, Is.EqualTo(first));
        Assert.That(Fingerprint(DatasetCatalog.FindMnist10k()), Is.EqualTo(first));
    }

    [Test]
    public void CacheDirectory_FollowsTheOverrideThenXdg()
    {
        string? savedOverride = Environment.GetEnvironmentVariable(DataFingerprint.CacheDirectoryVariable);
        string? savedXdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable(DataFingerprint.CacheDirectoryVariable, _cache);
            Assert.That(DataFingerprint.DefaultCacheDirectory(), Is.EqualTo(_cache));
            string truth = DatasetCatalog.Fingerprint(Dataset("a"));
            Assert.That(File.Exists(CacheFile), Is.True);
            Assert.That(truth, Is.EqualTo(Fingerprint(Dataset("b"))));

            string xdg = Path.Combine(_dir, "xdg");
            Environment.SetEnvironmentVariable(DataFingerprint.CacheDirectoryVariable, null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", xdg);
            Assert.That(DataFingerprint.DefaultCacheDirectory(), Is.EqualTo(Path.Combine(xdg, "sparsenet")));

            // The XDG spec ignores a relative value.
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "relative/cache");
            Assert.That(DataFingerprint.DefaultCacheDirectory(), Does.EndWith(Path.Combine(".cache", "sparsenet")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataFingerprint.CacheDirectoryVariable, savedOverride);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", savedXdg);
        }
    }

    [Test]
    public void AFifo_IsRejectedAsNotARegularFile()
    {
        Assume.That(OperatingSystem.IsWindows(), Is.False, "FIFOs are a Unix thing");
        string dir = Dataset("a");
        string fifo = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        File.Delete(fifo);
        using (Process? mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false }))
        {
            Assume.That(mkfifo, Is.Not.Null);
            mkfifo!.WaitForExit();
            Assume.That(mkfifo.ExitCode, Is.Zero, "mkfifo failed");
        }

        // Holding the FIFO open read-write (which Linux allows without blocking) means a writer is
        // present, so the reader's open returns instead of waiting for one.
        using var writer = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var e = Assert.Throws<InvalidDataException>(() => Fingerprint(dir));
        Assert.That(e!.Message, Does.Contain($"'{fifo}' is not a regular file (a pipe or device?)").And.Contain("twice"));
        var load = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(dir));
        Assert.That(load!.Message, Does.Contain("not a regular file"));
    }
}
