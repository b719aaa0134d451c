using System.Buffers.Binary;
using SparseNet.Engine;
using SparseNet.Engine.Data;

namespace SparseNet.Tests.Engine;

public class DatasetCatalogTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-catalog-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Load_BuiltInMnist10k_Has8000TrainAnd2000TestDigits()
    {
        (Dataset train, Dataset test) = DatasetCatalog.Load("mnist-10k");
        Assert.That((train.Count, test.Count), Is.EqualTo((8000, 2000)));
        Assert.That(train.FeatureShape, Is.EqualTo(Values.Of(1, 28, 28)));
        Assert.That(train.Features, Has.Length.EqualTo(8000 * 784));
        Assert.That(train.Features.Min(), Is.EqualTo(0f));
        Assert.That(train.Features.Max(), Is.EqualTo(1f));
        Assert.That(train.Labels.Distinct().Order(), Is.EqualTo(Enumerable.Range(0, 10)));
        Assert.That(test.Labels.Distinct().Order(), Is.EqualTo(Enumerable.Range(0, 10)));
        Assert.That(train.NumClasses, Is.EqualTo(10));
    }

    [Test]
    public void Load_DefaultSpec_IsMnist10k()
    {
        (Dataset train, _) = DatasetCatalog.Load();
        Assert.That(train.Count, Is.EqualTo(8000));
    }

    [Test]
    public void FindMnist10k_IsTheEmbeddedCopy_ByteForByte_WhateverTheCurrentDirectory()
    {
        // The repository's data/mnist-10k, four levels above Tests/bin/Release/net10.0.
        string repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "data", "mnist-10k"));
        string old = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(_dir);
        try
        {
            string found = DatasetCatalog.FindMnist10k();
            Assert.That(found, Does.Not.StartWith(Path.GetDirectoryName(repo)!), "not found by walking up from the checkout");
            foreach (string file in Directory.GetFiles(repo))
            {
                Assert.That(File.ReadAllBytes(Path.Combine(found, Path.GetFileName(file))), Is.EqualTo(File.ReadAllBytes(file)), file);
            }

            Assert.That(DatasetCatalog.Fingerprint(DatasetCatalog.Mnist10k), Is.EqualTo(DatasetCatalog.Fingerprint(repo)));
            Assert.That(DatasetCatalog.Load(DatasetCatalog.Mnist10k).Test.Count, Is.EqualTo(2000));
        }
        finally
        {
            Directory.SetCurrentDirectory(old);
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Load_Directory_ReadsRawOrGzippedFilesAndScalesPixels(bool gzip)
    {
        IdxTestFiles.WriteDataset(_dir, train: 12, test: 5, gzip);
        (Dataset train, Dataset test) = DatasetCatalog.Load(_dir);
        Assert.That((train.Count, test.Count), Is.EqualTo((12, 5)));
        Assert.That(train.FeatureShape, Is.EqualTo(Values.Of(1, 4, 3)));
        Assert.That(train.Features[1], Is.EqualTo(1f / 255f));
        Assert.That(test.Features, Is.All.EqualTo(1f));
        Assert.That(train.Labels[11], Is.EqualTo(1));
        Assert.That(test.Labels[0], Is.EqualTo(9));
    }

    [Test]
    public void Load_Directory_MissingFile_NamesBothAcceptedNames()
    {
        IdxTestFiles.WriteDataset(_dir, 3, 3, gzip: true);
        File.Delete(Path.Combine(_dir, "t10k-labels-idx1-ubyte.gz"));
        var e = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain("'t10k-labels-idx1-ubyte' (or 't10k-labels-idx1-ubyte.gz')"));
    }

    [Test]
    public void Load_MismatchedCounts_ReportsBoth()
    {
        IdxTestFiles.WriteDataset(_dir, 6, 3, gzip: false);
        File.WriteAllBytes(Path.Combine(_dir, "train-labels-idx1-ubyte"), IdxTestFiles.Labels(1, 2, 3, 4));
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain("holds 6 images").And.Contain("holds 4 labels"));
    }

    [Test]
    public void Load_LabelOutOfRange_IsRejected()
    {
        IdxTestFiles.WriteDataset(_dir, 3, 3, gzip: false);
        File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte"), IdxTestFiles.Labels(1, 10, 3));
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain("label 10 of example 1"));
    }

    [Test]
    public void Load_TrainAndTestOfDifferentSizes_IsRejected()
    {
        IdxTestFiles.WriteDataset(_dir, 3, 3, gzip: false);
        File.WriteAllBytes(Path.Combine(_dir, "t10k-images-idx3-ubyte"), IdxTestFiles.Images(3, 5, 5));
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain("[1,4,3]").And.Contain("[1,5,5]"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Load_EmptyTestSplit_NamesTheImagesFile(bool gzip)
    {
        IdxTestFiles.WriteDataset(_dir, train: 4, test: 0, gzip);
        string images = Path.Combine(_dir, gzip ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte");
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.LoadDirectory(_dir));
        Assert.That(e!.Message, Does.Contain($"'{images}' holds no examples; a test set needs at least one"));
        Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
    }

    [Test]
    public void Load_EmptyTrainingSplit_NamesTheImagesFile()
    {
        IdxTestFiles.WriteDataset(_dir, train: 0, test: 3, gzip: false);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(_dir));
        Assert.That(e!.Message, Does.Contain($"'{Path.Combine(_dir, "train-images-idx3-ubyte")}' holds no examples; a training set needs at least one"));
    }

    [Test]
    public void Load_UnknownName_ListsTheAcceptedValues()
    {
        var e = Assert.Throws<SettingsException>(() => DatasetCatalog.Load("cifar-10"));
        Assert.That(e!.Message, Does.Contain("'cifar-10'").And.Contain("mnist-10k").And.Contain("fashion-mnist").And.Contain("directory"));
    }

    [Test]
    public void FashionMnist_WhenMissing_SaysHowToInstallIt()
    {
        string missing = Path.Combine(_dir, "not-installed");
        var e = Assert.Throws<DirectoryNotFoundException>(() => DatasetCatalog.LoadFashionMnist(missing));
        Assert.That(e!.Message, Does.Contain("apt-get install dataset-fashion-mnist").And.Contain(missing));
    }

    [Test]
    public void FashionMnist_DebianLayout_IsReadWhenInstalled()
    {
        // Reads only the small label files so the test stays fast; Load covers the images.
        string dir = DatasetCatalog.FashionMnistDirectory;
        Assume.That(Directory.Exists(dir), "dataset-fashion-mnist is not installed here");
        Assert.That(IdxReader.ReadLabels(Path.Combine(dir, "train-labels-idx1-ubyte.gz")), Has.Length.EqualTo(60_000));
        Assert.That(IdxReader.ReadLabels(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")), Has.Length.EqualTo(10_000));
        byte[] header = new byte[16];
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(dir, "t10k-images-idx3-ubyte.gz")), System.IO.Compression.CompressionMode.Decompress))
        {
            gz.ReadExactly(header);
        }

        Assert.That(BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4)), Is.EqualTo(10_000));
    }
}
