using SparseNet.Cli;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class CliTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: true);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.Run(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    private string[] Train(string outDir, string seed = "7") =>
        ["train", "--data", Path.Combine(_dir, "data"), "--epochs", "2", "--batch-size", "16", "--seed", seed, "--out", outDir];

    [Test]
    public void Train_SameSeed_GivesIdenticalFiles()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        Assert.That(Run(Train(a)).Code, Is.Zero);
        Assert.That(Run(Train(b)).Code, Is.Zero);

        Assert.That(File.ReadAllBytes(Path.Combine(a, "final.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(b, "final.safetensors"))));
        static string WithoutSeconds(string path) =>
            string.Join('\n', File.ReadAllLines(path).Where(l => !l.Contains("\"seconds\"", StringComparison.Ordinal)));
        Assert.That(WithoutSeconds(Path.Combine(a, "summary.json")), Is.EqualTo(WithoutSeconds(Path.Combine(b, "summary.json"))));
        Assert.That(File.ReadAllText(Path.Combine(a, "summary.json")), Does.Contain("\"test_accuracy\"").And.Contain("\"iterations\": 16").And.Contain("\"seed\": 7"));
    }

    [Test]
    public void Train_DifferentSeed_GivesDifferentWeights()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        Assert.That(Run(Train(a)).Code, Is.Zero);
        Assert.That(Run(Train(b, seed: "8")).Code, Is.Zero);
        Assert.That(File.ReadAllBytes(Path.Combine(a, "final.safetensors")), Is.Not.EqualTo(File.ReadAllBytes(Path.Combine(b, "final.safetensors"))));
    }

    [TestCase("prune-at-init", "--method", "obd", "obd")]
    [TestCase("prune-at-init", "--sparsities", "0.5,1.2", "1.2")]
    [TestCase("prune-at-init", "--sanity", "flip", "flip")]
    [TestCase("lottery", "--prune-rate", "1.5", "1.5")]
    [TestCase("lottery", "--branches", "bogus", "bogus")]
    [TestCase("lottery", "--target-sparsity", "2", "2")]
    [TestCase("lottery", "--replicates", "0", "--replicates")]
    [TestCase("report", "--no-such", "x", "Unrecognized")]
    [TestCase("train", "--model", "resnet9000", "resnet9000")]
    [TestCase("train", "--optimizer", "rmsprop", "rmsprop")]
    [TestCase("train", "--epochs", "0", "epochs must be positive, got 0")]
    [TestCase("train", "--lr", "abc", "abc")]
    [TestCase("train", "--lr", "-1", "learning rate must be a positive finite number, got -1")]
    [TestCase("train", "--no-such-option", "x", "--no-such-option")]
    [TestCase("train", "--data", "/no/such/dir", "/no/such/dir")]
    [TestCase("train", "--lr-milestones", "5,3", "5,3")]
    [TestCase("train", "--lr-milestones", "80ep,12000", "80ep,12000")]
    [TestCase("train", "--model", "resnet21", "6n+2")]
    [TestCase("lottery", "--conv-prune-rate", "1.5", "1.5")]
    [TestCase("lottery", "--fc-prune-rate", "0", "fc prune rate must be in (0, 1), got 0")]
    public void BadInput_GivesOneLineError_AndNonZeroExit(string command, string option, string value, string mention)
    {
        string[] args = command == "train" ? [command, option, value, "--out", Path.Combine(_dir, "bad")] : [command, option, value, "--root", Path.Combine(_dir, "bad")];
        if (command == "report")
        {
            args = [command, option, value];
        }

        var (code, _, err) = Run(args);
        Assert.That(code, Is.Not.Zero);
        Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), err);
        Assert.That(err, Does.StartWith("error: ").And.Contain(mention));
        Assert.That(err, Does.Not.Contain("   at "));
    }

    [Test]
    public void Lottery_RunsPrintsTheTable_AndReportReprintsIt()
    {
        string root = Path.Combine(_dir, "runs");
        var (code, output, err) = Run("lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "24", "--epochs", "1", "--batch-size", "16", "--levels", "2", "--eval-every", "2", "--root", root);
        Assert.That(code, Is.Zero, err);
        string runDir = Directory.GetDirectories(root).Single();
        Assert.That(output, Does.Contain($"run directory: {runDir}").And.Contain("Test accuracy (%)").And.Contain("random_reinit").And.Contain("100.0"));
        foreach (string file in new[] { "summary.json", "accuracy.png", "accuracy.svg", "early_stop.png", "early_stop.svg", "hyperparameters.json" })
        {
            Assert.That(File.Exists(Path.Combine(runDir, file)), Is.True, file);
        }

        var report = Run("report", runDir);
        Assert.That(report.Code, Is.Zero, report.Err);
        Assert.That(report.Out, Does.Contain("Early-stop iteration").And.Contain("random_prune"));

        var missing = Run("report", Path.Combine(_dir, "nope"));
        Assert.That(missing.Code, Is.Not.Zero);
        Assert.That(missing.Err, Does.StartWith("error: ").And.Contain("nope"));
    }

    [Test]
    public void CorruptDataFile_GivesOneLineError()
    {
        string data = Path.Combine(_dir, "data");
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte.gz"), [1, 2, 3]);
        var (code, _, err) = Run(Train(Path.Combine(_dir, "o")));
        Assert.That(code, Is.Not.Zero);
        Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), err);
        Assert.That(err, Does.StartWith("error: ").And.Contain("train-images"));
    }

    [Test]
    public void Help_ListsEveryTrainOptionWithItsDefault()
    {
        var (code, output, _) = Run("train", "--help");
        Assert.That(code, Is.Zero);
        foreach (string option in new[] { "--model", "--data", "--epochs", "--batch-size", "--optimizer", "--lr", "--seed", "--out" })
        {
            Assert.That(output, Does.Contain(option));
        }

        Assert.That(output, Does.Contain("[default: lenet_300_100]").And.Contain("Adam 1.2e-3, batch 60, 20 epochs"));
        Assert.That(output, Does.Contain("Examples per mini-batch (default: the model's recipe, see --model)"));
    }
}
