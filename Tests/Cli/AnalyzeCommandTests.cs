using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class AnalyzeCommandTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-analyze-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: true);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Lottery()
    {
        string root = Path.Combine(_dir, "runs");
        var (code, _, err) = CliTests.Run("lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "24", "--epochs", "1", "--batch-size", "16", "--levels", "3", "--eval-every", "2", "--root", root);
        Assert.That(code, Is.Zero, err);
        return Directory.GetDirectories(root).Single();
    }

    [Test]
    public void GradientFlow_MeasuresEveryUnit_TheReportShowsIt_AndTheSameSettingsGiveTheSameBytes()
    {
        string run = Lottery();
        var (code, output, err) = CliTests.Run("analyze", "gradient-flow", run, "--batches", "3");
        Assert.That(code, Is.Zero, err);
        string file = Path.Combine(run, "gradient_flow.json");
        Assert.That(output, Does.Contain("Gradient flow at the start of training (3 batches × 16 training examples").And.Contain(file));
        string json = File.ReadAllText(file);
        Assert.That(json.Split("\"path\"").Length - 1, Is.EqualTo(7), "dense level, 2 pruned levels × (lottery, random_reinit, random_prune)");
        Assert.That(json, Does.Contain("\"path\": \"replicate_0/level_02/random_prune\""));

        // Measured again from scratch, or reused from the file: the same bytes.
        Assert.That(CliTests.Run("analyze", "gradient-flow", run, "--batches", "3").Code, Is.Zero);
        Assert.That(File.ReadAllText(file), Is.EqualTo(json));
        File.Delete(file);
        Assert.That(CliTests.Run("analyze", "gradient-flow", run, "--batches", "3").Code, Is.Zero);
        Assert.That(File.ReadAllText(file), Is.EqualTo(json));
        Assert.That(Directory.GetFiles(run).Where(f => f.Contains(".tmp", StringComparison.Ordinal)), Is.Empty);

        var report = CliTests.Run("report", run);
        Assert.That(report.Code, Is.Zero, report.Err);
        Assert.That(report.Out, Does.Contain("Gradient flow at the start of training").And.Contain("cos(g,m⊙g)").And.Contain("Generalisation").And.Contain("train acc %"));
        foreach (string plot in new[] { "generalization.png", "generalization_gap.svg", "gradient_flow_cosine.png", "gradient_flow_progress.svg" })
        {
            Assert.That(File.Exists(Path.Combine(run, plot)), Is.True, plot);
        }
    }

    [Test]
    public void ARewoundRun_IsMeasuredAtTheWeightsItsLevelsStartFrom_TheMaskedThetaK()
    {
        string root = Path.Combine(_dir, "runs");
        var (code, _, err) = CliTests.Run("lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "24", "--epochs", "1", "--batch-size", "16", "--levels", "2", "--branches", "random_prune", "--rewind-iteration", "2", "--eval-every", "2", "--root", root);
        Assert.That(code, Is.Zero, err);
        string run = Directory.GetDirectories(root).Single();
        Assert.That(CliTests.Run("analyze", "gradient-flow", run, "--batches", "2").Code, Is.Zero);

        string unit = Path.Combine(run, "replicate_0", "level_01", "lottery");
        var thetaK = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(run, "replicate_0", "rewind.safetensors")).Tensors["fc1.weight"].Data;
        var mask = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(unit, "mask.safetensors")).Tensors["fc1.weight"].Data;
        var start = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(unit, "init.safetensors")).Tensors["fc1.weight"].Data;
        Assert.That(start, Is.EqualTo(thetaK.Zip(mask, (w, m) => w * m).ToArray()));
        Assert.That(mask, Does.Contain(0f));

        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "gradient_flow.json")));
        var entry = json.RootElement.GetProperty("units").EnumerateArray().Single(u => u.GetProperty("path").GetString() == "replicate_0/level_01/lottery");
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(unit, "init.safetensors"))));
        Assert.That(entry.GetProperty("init_sha256").GetString(), Is.EqualTo(sha));
        Assert.That(entry.GetProperty("cosine").GetDouble(), Is.GreaterThan(0).And.LessThan(1));
    }

    [Test]
    public void AReportOfResultsWithoutTrainMetrics_ShowsDashes()
    {
        string run = Lottery();

        // As a run of results version 4 left it: no train metrics.
        foreach (string path in Directory.GetFiles(run, "result.json", SearchOption.AllDirectories))
        {
            var old = UnitResult.Load(path) with { ResultsVersion = 4, TrainAccuracy = double.NaN, TrainLoss = double.NaN };
            File.WriteAllText(path, old.ToJson());
        }

        foreach (string plot in Directory.GetFiles(run, "generalization*"))
        {
            File.Delete(plot);
        }

        var (code, output, err) = CliTests.Run("report", run);
        Assert.That(code, Is.Zero, err);
        string dense = output.Split('\n').SkipWhile(l => !l.StartsWith("Generalisation", StringComparison.Ordinal)).Skip(3).First();
        Assert.That(dense.Split(' ', StringSplitOptions.RemoveEmptyEntries), Has.Exactly(4).EqualTo("—"), dense);
        Assert.That(File.Exists(Path.Combine(run, "generalization.png")), Is.False, "nothing to plot without train metrics");
    }

    [Test]
    public void AChangedStartingPoint_OrABadOption_IsAOneLineErrorNamingIt()
    {
        string run = Lottery();
        string init = Path.Combine(run, "replicate_0", "level_01", "lottery", "init.safetensors");
        var bytes = File.ReadAllBytes(init);
        bytes[^1] ^= 1;
        File.WriteAllBytes(init, bytes);
        var (code, _, err) = CliTests.Run("analyze", "gradient-flow", run, "--batches", "3");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.StartWith("error: ").And.Contain(init).And.Contain("changed after the unit finished"));

        var step = CliTests.Run("analyze", "gradient-flow", run, "--step", "0");
        Assert.That(step.Code, Is.EqualTo(2));
        Assert.That(step.Err, Does.Contain("--step must be a positive finite number, got 0"));

        var batches = CliTests.Run("analyze", "gradient-flow", run, "--batches", "7");
        Assert.That(batches.Code, Is.EqualTo(2));
        Assert.That(batches.Err, Does.Contain("7 batches of 16 examples need 112, but the training set has 96"));

        var missing = CliTests.Run("analyze", "gradient-flow", Path.Combine(_dir, "nope"));
        Assert.That(missing.Code, Is.Not.Zero);
        Assert.That(missing.Err, Does.StartWith("error: ").And.Contain("nope"));
    }
}
