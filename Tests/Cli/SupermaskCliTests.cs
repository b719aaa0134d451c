using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class SupermaskCliTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-supermask-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Supermask_Help_NamesItsOptions()
    {
        var (code, output, _) = CliTests.Run("supermask", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("--density").And.Contain("--weights").And.Contain("signed-constant").And.Contain("--replicates").And.Contain("--epochs").And.Contain("never trained"));
    }

    [Test]
    public void Supermask_RunsResumesAndReports_TheSupermaskBesideTheRandomMask()
    {
        string root = Path.Combine(_dir, "runs");
        string[] args = ["supermask", "--data", Path.Combine(_dir, "data"), "--validation-size", "20", "--iterations", "7", "--batch-size", "20", "--density", "0.5", "--root", root];
        var (code, output, err) = CliTests.Run(args);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("run directory: ").And.Contain("supermask test acc").And.Contain("random mask test acc").And.Contain("finished 2 trainings"));
        string run = Directory.GetDirectories(root).Single();
        Assert.That(Path.GetFileName(run), Does.StartWith("supermask-"));
        Assert.That(File.ReadAllText(Path.Combine(run, "replicate_0", "supermask", "result.json")), Does.Contain("\"iterations\": 7"));
        string result = Path.Combine(run, "replicate_0", "supermask", "result.json");
        var stamp = File.GetLastWriteTimeUtc(result);

        (code, _, err) = CliTests.Run(args);
        Assert.That(code, Is.Zero, err);
        Assert.That(File.GetLastWriteTimeUtc(result), Is.EqualTo(stamp), "the same command finds the finished units");

        (code, output, err) = CliTests.Run("report", run);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("Supermask: lenet_300_100").And.Contain("50% of each layer's weights kept").And.Contain("supermask.png"));
        Assert.That(File.Exists(Path.Combine(run, "supermask.svg")), Is.True);
    }

    [Test]
    public void Supermask_RefusesBadValues_NamingThem()
    {
        var (code, _, err) = CliTests.Run("supermask", "--density", "1.5", "--root", Path.Combine(_dir, "runs"));
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("density must be in (0, 1], got 1.5"));
        (code, _, err) = CliTests.Run("supermask", "--weights", "uniform", "--root", Path.Combine(_dir, "runs"));
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("uniform"));
        (code, _, err) = CliTests.Run("supermask", "--epochs", "2", "--iterations", "50", "--root", Path.Combine(_dir, "runs"));
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("--epochs and --iterations"));
        Assert.That(Directory.Exists(Path.Combine(_dir, "runs")), Is.False, "nothing is written for a refused command");
    }
}
