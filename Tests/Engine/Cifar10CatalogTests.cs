using SparseNet.Engine;
using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class Cifar10CatalogTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-cifar-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static float Normalised(byte b, int channel) =>
        ((b / 255f) - DatasetCatalog.Cifar10Mean[channel]) / DatasetCatalog.Cifar10Std[channel];

    [Test]
    public void Load_Directory_ReadsEveryRecordOfTheFiveTrainingBatchesInOrder_AndTheTestBatch()
    {
        Cifar10TestFiles.WriteDataset(_dir, perFile: 7, testCount: 4);
        (Dataset train, Dataset test) = DatasetCatalog.Load(_dir);
        Assert.That((train.Count, test.Count), Is.EqualTo((35, 4)));
        Assert.That(train.FeatureShape, Is.EqualTo(Values.Of(3, 32, 32)));
        Assert.That(train.NumClasses, Is.EqualTo(10));
        Assert.That(train.Labels, Is.EqualTo(Enumerable.Range(0, 35).Select(r => r % 10)));
        Assert.That(test.Labels, Is.EqualTo(Values.Of(0, 1, 2, 3)));

        // Record 23 (batch 4, record 2): byte i of channel c lies at feature c·1024 + i, normalised per channel.
        ReadOnlySpan<float> example = train.Example(23);
        foreach (int i in new[] { 0, 1, 1023, 1024, 2047, 2048, 3071 })
        {
            int channel = i / 1024;
            Assert.That(example[i], Is.EqualTo(Normalised(Cifar10TestFiles.Pixel(23, i), channel)), $"feature {i}");
        }

        Assert.That(test.Example(1)[5], Is.EqualTo(Normalised(Cifar10TestFiles.Pixel(1001, 5), 0)));
    }

    [Test]
    public void Load_FollowsOpenLthNormalisation_BlackIsMinusMeanOverStd_AndAugmentsByDefault()
    {
        Assert.That(DatasetCatalog.Cifar10Mean, Is.EqualTo(Values.Of(0.485f, 0.456f, 0.406f)));
        Assert.That(DatasetCatalog.Cifar10Std, Is.EqualTo(Values.Of(0.229f, 0.224f, 0.225f)));
        Cifar10TestFiles.WriteDataset(_dir, perFile: 1, testCount: 1);
        (Dataset train, Dataset test) = DatasetCatalog.Load(_dir);
        Assert.That(train.BlackLevel, Is.EqualTo(Values.Of(-0.485f / 0.229f, -0.456f / 0.224f, -0.406f / 0.225f)).Within(1e-6f));
        Assert.That(Normalised(255, 0), Is.EqualTo((1f - 0.485f) / 0.229f).Within(1e-6f));
        Assert.That(train.AugmentByDefault, Is.True);
        Assert.That(test.BlackLevel, Is.EqualTo(train.BlackLevel));

        // The MNIST family is neither normalised nor augmented by default.
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "idx"), 3, 3, gzip: false);
        Dataset idx = DatasetCatalog.Load(Path.Combine(_dir, "idx")).Train;
        Assert.That((idx.AugmentByDefault, idx.BlackLevel.Count), Is.EqualTo((false, 0)));
    }

    [Test]
    public void Load_AcceptsTheFolderTheArchiveWasUnpackedIn()
    {
        Cifar10TestFiles.WriteDataset(Path.Combine(_dir, DatasetCatalog.Cifar10Folder), perFile: 2, testCount: 3);
        (Dataset train, Dataset test) = DatasetCatalog.Load(_dir);
        Assert.That((train.Count, test.Count), Is.EqualTo((10, 3)));
        Assert.That(DatasetCatalog.Files(_dir), Is.EqualTo(DatasetCatalog.Cifar10FileNames.Select(n => Path.Combine(_dir, DatasetCatalog.Cifar10Folder, n))));
        Assert.That(DatasetCatalog.Fingerprint(_dir), Is.EqualTo(DatasetCatalog.Fingerprint(Path.Combine(_dir, DatasetCatalog.Cifar10Folder))));
    }

    [Test]
    public void Fingerprint_CoversEverySixFiles()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        Cifar10TestFiles.WriteDataset(a, perFile: 2, testCount: 2);
        Cifar10TestFiles.WriteDataset(b, perFile: 2, testCount: 2);
        string fingerprint = DatasetCatalog.Fingerprint(a);
        Assert.That(fingerprint, Does.Match("^sha256:[0-9a-f]{64}$"));
        Assert.That(DatasetCatalog.Fingerprint(b), Is.EqualTo(fingerprint), "same bytes elsewhere");
        foreach (string name in DatasetCatalog.Cifar10FileNames)
        {
            string c = Path.Combine(_dir, "c-" + name);
            Cifar10TestFiles.WriteDataset(c, perFile: 2, testCount: 2);
            byte[] bytes = File.ReadAllBytes(Path.Combine(c, name));
            bytes[^1] ^= 1;
            File.WriteAllBytes(Path.Combine(c, name), bytes);
            Assert.That(DatasetCatalog.Fingerprint(c), Is.Not.EqualTo(fingerprint), name);
        }
    }

    [Test]
    public void ATruncatedBatch_IsRejectedNamingTheFileAndTheLengths()
    {
        Cifar10TestFiles.WriteDataset(_dir);
        string path = Path.Combine(_dir, "data_batch_3.bin");
        File.WriteAllBytes(path, Cifar10TestFiles.Batch(7)[..^100]);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain($"'{path}' holds {(7 * 3073) - 100} bytes").And.Contain("3073-byte records").And.Contain("6 records and 2973 bytes over"));
    }

    [Test]
    public void ALabelAboveNine_IsRejectedNamingTheFileAndTheRecord()
    {
        Cifar10TestFiles.WriteDataset(_dir);
        string path = Path.Combine(_dir, "test_batch.bin");
        byte[] bytes = Cifar10TestFiles.Batch(7);
        bytes[4 * 3073] = 10;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain($"'{path}': label 10 of record 4 (byte offset {4 * 3073})"));
    }

    [Test]
    public void AnEmptyBatch_IsRejectedNamingTheFile()
    {
        Cifar10TestFiles.WriteDataset(_dir);
        string path = Path.Combine(_dir, "data_batch_1.bin");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain($"'{path}' is empty"));
    }

    [Test]
    public void AMissingBatch_IsRejectedNamingIt_ByLoadFilesAndFingerprint()
    {
        Cifar10TestFiles.WriteDataset(_dir);
        File.Delete(Path.Combine(_dir, "data_batch_5.bin"));
        foreach (TestDelegate call in new TestDelegate[] { () => DatasetCatalog.Load(_dir), () => DatasetCatalog.Files(_dir), () => DatasetCatalog.Fingerprint(_dir) })
        {
            var e = Assert.Throws<FileNotFoundException>(call);
            Assert.That(e!.Message, Does.Contain("missing 'data_batch_5.bin'"));
            Assert.That(e.FileName, Is.EqualTo(Path.Combine(_dir, "data_batch_5.bin")));
        }
    }

    [Test]
    public void ADirectoryHoldingNoKnownFiles_NamesBothFormats()
    {
        var e = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain(_dir).And.Contain("train-images-idx3-ubyte").And.Contain("data_batch_1.bin").And.Contain("cifar-10-batches-bin"));
    }

    [Test]
    public void TheName_LooksOnlyAtTheVariableWhenSet_ElseTheCacheThenTheSystemFolder()
    {
        Assert.That(DatasetCatalog.Cifar10Directories("/data/cifar", "/home/u/.cache/sparsenet"), Is.EqualTo(new[] { "/data/cifar" }));
        Assert.That(
            DatasetCatalog.Cifar10Directories(null, "/home/u/.cache/sparsenet"),
            Is.EqualTo(new[] { "/home/u/.cache/sparsenet/cifar-10-batches-bin", "/usr/share/datasets/cifar-10-batches-bin" }));
        Assert.That(DatasetCatalog.Cifar10Directories(" ", null), Is.EqualTo(new[] { "/usr/share/datasets/cifar-10-batches-bin" }));
    }

    [Test]
    public void TheName_WhenAbsent_SaysWhereItLookedAndHowToGetIt()
    {
        string a = Path.Combine(_dir, "nowhere"), b = Path.Combine(_dir, "nor-here");
        var e = Assert.Throws<DirectoryNotFoundException>(() => DatasetCatalog.FindCifar10([a, b], fromVariable: false));
        Assert.That(e!.Message, Does.Contain($"'{a}', '{b}'").And.Contain("cifar-10-binary.tar.gz").And.Contain("https://www.cs.toronto.edu/~kriz/cifar.html").And.Contain("--data DIR").And.Contain("SPARSENET_CIFAR10"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        e = Assert.Throws<DirectoryNotFoundException>(() => DatasetCatalog.FindCifar10([a], fromVariable: true));
        Assert.That(e!.Message, Does.Contain($"at '{a}' ($SPARSENET_CIFAR10)"));
        Assert.That(DatasetCatalog.FindCifar10([a, _dir], fromVariable: false), Is.EqualTo(_dir));
    }

    [Test]
    public void TheName_ResolvesThroughTheVariable()
    {
        Cifar10TestFiles.WriteDataset(Path.Combine(_dir, DatasetCatalog.Cifar10Folder), perFile: 1, testCount: 2);
        string? saved = Environment.GetEnvironmentVariable(DatasetCatalog.Cifar10Variable);
        try
        {
            Environment.SetEnvironmentVariable(DatasetCatalog.Cifar10Variable, _dir);
            Assert.That(DatasetCatalog.Load("CIFAR10").Train.Count, Is.EqualTo(5));
            Assert.That(DatasetCatalog.Fingerprint(DatasetCatalog.Cifar10), Is.EqualTo(DatasetCatalog.Fingerprint(_dir)));
            Environment.SetEnvironmentVariable(DatasetCatalog.Cifar10Variable, Path.Combine(_dir, "missing"));
            var e = Assert.Throws<DirectoryNotFoundException>(() => DatasetCatalog.Files(DatasetCatalog.Cifar10));
            Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, "missing")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DatasetCatalog.Cifar10Variable, saved);
        }
    }

    [Test]
    public void AnUnknownName_ListsCifar10AmongTheAcceptedValues()
    {
        var e = Assert.Throws<SettingsException>(() => DatasetCatalog.Load("cifar-100"));
        Assert.That(e!.Message, Does.Contain("'cifar10'").And.Contain("data_batch_1.bin"));
    }
}
