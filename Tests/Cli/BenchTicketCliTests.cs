using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class BenchTicketCliTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-cli-bench-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 64, test: 16, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void BenchTicket_TimesEveryTicketOfARun_DenseAgainstSparse()
    {
        string root = Path.Combine(_dir, "runs");
        var (code, _, err) = CliTests.Run(["lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "16", "--epochs", "1", "--levels", "3", "--branches=", "--sparse", "on", "--root", root]);
        Assert.That(code, Is.Zero, err);
        string run = Directory.GetDirectories(root).Single();

        (code, string output, err) = CliTests.Run(["bench-ticket", run, "--repeats", "2", "--eval-batch", "8"]);
        Assert.That(code, Is.Zero, err);
        var rows = output.Split('\n').Where(l => l.StartsWith("level_", StringComparison.Ordinal)).ToList();
        Assert.That(rows.Select(r => r.Split(' ')[0]), Is.EqualTo(Values.Of("level_00/lottery", "level_01/lottery", "level_02/lottery")), output);
        Assert.That(rows[2], Does.Match(@"level_02/lottery\s+\d+\.\d%\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+×\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+×\s+(dense|sparse: .*)"), output);
        Assert.That(rows[0], Does.Contain(" 0.0%"), "the dense level keeps every weight");
    }

    [Test]
    public void BenchTicket_OnADirectoryWithoutARun_SaysSo()
    {
        var (code, _, err) = CliTests.Run(["bench-ticket", _dir]);
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("hyperparameters.json does not exist").And.Contain(_dir));
    }

    [Test]
    public void Sparse_EntersTheRunsNameOnlyWhenNotAuto()
    {
        string Run(params string[] extra)
        {
            string root = Path.Combine(_dir, "runs-" + Guid.NewGuid().ToString("N"));
            var (code, _, err) = CliTests.Run(["lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "16", "--epochs", "1", "--levels", "1", "--branches=", "--root", root, .. extra]);
            Assert.That(code, Is.Zero, err);
            return Path.GetFileName(Directory.GetDirectories(root).Single());
        }

        string auto = Run();
        Assert.That(Run("--sparse", "auto"), Is.EqualTo(auto));
        Assert.That(Run("--sparse", "off"), Is.Not.EqualTo(auto));
        var (bad, _, error) = CliTests.Run(["lottery", "--sparse", "sometimes"]);
        Assert.That(bad, Is.EqualTo(2));
        Assert.That(error, Does.Contain("sometimes"));
    }
}
