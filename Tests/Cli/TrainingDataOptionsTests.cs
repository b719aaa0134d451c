using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class TrainingDataOptionsTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-cli-data-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("train")]
    [TestCase("lottery")]
    [TestCase("prune-at-init")]
    public void Help_ListsTheSubsetAndAugmentationOptions(string command)
    {
        var (code, output, _) = CliTests.Run(command, "--help");
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("--train-examples").And.Contain("--augment").And.Contain("--no-augment").And.Contain("cifar10"));
    }

    [Test]
    public void AugmentAndNoAugmentTogether_AreAUsageError()
    {
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 30, test: 10, gzip: false);
        var (code, _, err) = CliTests.Run("train", "--data", Path.Combine(_dir, "data"), "--augment", "--no-augment", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--augment and --no-augment"));
    }

    [Test]
    public void Train_OnASubset_TrainsOnThatManyAndRecordsIt_AndRefusesMoreThanThereAre()
    {
        string data = Path.Combine(_dir, "data");
        IdxTestFiles.WriteDataset(data, train: 120, test: 40, gzip: false);
        string outDir = Path.Combine(_dir, "o");
        var (code, output, err) = CliTests.Run("train", "--data", data, "--epochs", "1", "--batch-size", "10", "--validation-size", "20", "--train-examples", "50", "--out", outDir);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("(50 train / 40 test)").And.Contain("1 epochs × 5 iterations"));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "summary.json")), Does.Contain("\"train_examples\": 50"));

        (code, _, err) = CliTests.Run("train", "--data", data, "--validation-size", "20", "--train-examples", "101", "--out", Path.Combine(_dir, "p"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("train examples 101").And.Contain("100 training examples"));
    }

    [Test]
    public void Train_OnCifar10Batches_AugmentsByDefault_AndNotWhenTold()
    {
        string data = Path.Combine(_dir, "cifar");
        Cifar10TestFiles.WriteDataset(Path.Combine(data, "cifar-10-batches-bin"), perFile: 4, testCount: 5);
        var (code, output, err) = CliTests.Run("train", "--data", data, "--epochs", "1", "--batch-size", "10", "--out", Path.Combine(_dir, "a"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("(20 train / 5 test)").And.Contain("random crops and flips"));

        (code, output, err) = CliTests.Run("train", "--data", data, "--epochs", "1", "--batch-size", "10", "--no-augment", "--out", Path.Combine(_dir, "b"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Not.Contain("random crops and flips"));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "b", "summary.json")), Does.Contain("\"augment\": false"));
    }
}
