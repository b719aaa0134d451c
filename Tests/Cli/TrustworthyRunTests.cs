using System.CommandLine;
using System.Text.Json;
using SparseNet.Cli;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Training;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

/// <summary>Hostile inputs and damaged run directories: each gets a clear one-line answer, and nothing is silently reused.</summary>
[NonParallelizable]
public class TrustworthyRunTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-trust-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Data, train: 120, test: 40, gzip: true);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Data => Path.Combine(_dir, "data");

    private string Root => Path.Combine(_dir, "runs");

    // The lottery command on the tiny data; --levels and --branches default to 3 and random_prune unless given.
    private string[] Lottery(params string[] extra) =>
    [
        "lottery", "--data", Data, "--validation-size", "24", "--epochs", "1", "--batch-size", "16", "--eval-every", "2", "--root", Root,
        .. extra.Contains("--levels") ? Array.Empty<string>() : ["--levels", "3"],
        .. extra.Contains("--branches") ? Array.Empty<string>() : ["--branches", "random_prune"],
        .. extra,
    ];

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static void AssertOneLineError(string err, string mention)
    {
        Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), err);
        Assert.That(err, Does.StartWith("error: ").And.Contain(mention).And.Not.Contain("   at "));
    }

    // Python's json with allow_nan=False and jq reject NaN and Infinity; so does System.Text.Json by default.
    private static void AssertStrictJson(string path)
    {
        var lines = path.EndsWith(".jsonl", StringComparison.Ordinal) ? File.ReadAllLines(path) : [File.ReadAllText(path)];
        foreach (string line in lines)
        {
            Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose(), path);
        }
    }

    [Test]
    public void Train_WithAHugeLearningRate_RecordsTheDivergence_InValidJson()
    {
        string outDir = Path.Combine(_dir, "t");
        var (code, _, err) = Run("train", "--data", Data, "--epochs", "3", "--batch-size", "16", "--lr", "1e30", "--out", outDir);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, "training diverged at iteration ");
        AssertStrictJson(Path.Combine(outDir, "summary.json"));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.That(summary.RootElement.GetProperty("outcome").GetString(), Is.EqualTo("diverged"));
        int at = summary.RootElement.GetProperty("diverged_at_iteration").GetInt32();
        Assert.That(err, Does.Contain($"iteration {at} "));
        Assert.That(summary.RootElement.GetProperty("iterations").GetInt32(), Is.EqualTo(at - 1), "the diverging update is not applied");
    }

    [Test]
    public void Lottery_WithAHugeLearningRate_GoesOn_MarksTheDivergedUnits_AndWritesOnlyValidJson()
    {
        var (code, output, err) = Run(Lottery("--lr", "1e30"));
        Assert.That(code, Is.Zero, err);
        Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), err);
        Assert.That(err, Does.StartWith("warning: training diverged in 5 of 5 trainings (replicate 0 level 0 lottery at iteration "));
        Assert.That(output, Does.Contain("† diverged"));
        string run = Directory.GetDirectories(Root).Single();
        foreach (string file in Directory.GetFiles(run, "*.json*", SearchOption.AllDirectories))
        {
            AssertStrictJson(file);
        }

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        var lottery = summary.RootElement.GetProperty("branches").GetProperty("lottery");
        Assert.That(lottery.EnumerateArray().Select(p => p.GetProperty("diverged").GetInt32()), Is.EqualTo(new[] { 1, 1, 1 }));

        // Diverged units are finished: a second run reuses them instead of training them again.
        var results = Directory.GetFiles(run, "result.json", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var again = Run(Lottery("--lr", "1e30"));
        Assert.That(again.Code, Is.Zero, again.Err);
        Assert.That(results.Keys.ToDictionary(f => f, File.GetLastWriteTimeUtc), Is.EqualTo(results));
    }

    private string FinishedRun()
    {
        var (code, _, err) = Run(Lottery("--rewind-iteration", "2"));
        Assert.That(code, Is.Zero, err);
        return Directory.GetDirectories(Root).Single();
    }

    [TestCase("mask.safetensors")]
    [TestCase("init.safetensors")]
    [TestCase("final.safetensors")]
    [TestCase("metrics.jsonl")]
    [TestCase("result.json")]
    [TestCase("../../rewind.safetensors")]
    public void FlippingOneByteInAFinishedUnit_IsReportedByPath(string file)
    {
        string run = FinishedRun();
        string unit = file.StartsWith("..", StringComparison.Ordinal) ? Path.Combine(run, "replicate_0", "level_00", "lottery") : Path.Combine(run, "replicate_0", "level_01", "lottery");
        string path = Path.GetFullPath(Path.Combine(unit, file));
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        var (code, _, err) = Run(Lottery("--rewind-iteration", "2"));
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, file == "result.json" ? Path.Combine(unit, "result.json") : path);
        Assert.That(err, Does.Contain("delete that folder"));
    }

    [Test]
    public void AnAllOnesMaskInPlaceOfALevelsMask_IsReportedByPath_AndNothingIsTrainedFromIt()
    {
        string run = FinishedRun();
        string mask = Path.Combine(run, "replicate_0", "level_01", "lottery", "mask.safetensors");
        var (tensors, metadata) = SafeTensors.Read(mask);
        SafeTensors.Write(mask, tensors.ToDictionary(kv => kv.Key, kv => new SafeTensor(kv.Value.Shape, Enumerable.Repeat(1f, kv.Value.Data.Length).ToArray())), metadata);
        Directory.Delete(Path.Combine(run, "replicate_0", "level_02"), recursive: true);

        var (code, _, err) = Run(Lottery("--rewind-iteration", "2"));
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, mask);
        Assert.That(Directory.Exists(Path.Combine(run, "replicate_0", "level_02")), Is.False, "level 2 was not trained from the changed mask");
    }

    [Test]
    public void ChangingOneLabel_GivesANewRunDirectory()
    {
        Assert.That(Run(Lottery("--levels", "1", "--branches", "")).Code, Is.Zero);
        string labels = Path.Combine(Data, "t10k-labels-idx1-ubyte.gz");
        var raw = IdxTestFiles.Labels(Enumerable.Range(0, 40).Select(i => (byte)(i == 7 ? 3 : 9 - (i % 10))).ToArray());
        File.WriteAllBytes(labels, IdxTestFiles.Gzip(raw));
        Assert.That(Run(Lottery("--levels", "1", "--branches", "")).Code, Is.Zero);
        Assert.That(Directory.GetDirectories(Root), Has.Length.EqualTo(2));
    }

    [TestCase("--prune-rate", "0.99", "--output-prune-rate", "0.99", "--levels", "16", "fc1.weight")]
    [TestCase("--exclude", "fc1,fc2,fc3", "--levels", "3", "", "", "leaves no layer to prune")]
    [TestCase("--global", "--prune-rate", "0.9", "--levels", "12", "", "global pruning")]
    public void Lottery_ThatWouldEmptyALayer_IsRefusedBeforeTraining(string o1, string v1, string o2, string v2, string o3, string v3, string mention)
    {
        var args = Lottery(new[] { o1, v1, o2, v2, o3, v3 }.Where(a => a.Length > 0).ToArray());
        var (code, output, err) = Run(args);
        Assert.That(code, Is.EqualTo(2));
        AssertOneLineError(err, mention);
        Assert.That(output, Does.Not.Contain("trainings done"));
        Assert.That(Directory.Exists(Root) ? Directory.GetFiles(Root, "result.json", SearchOption.AllDirectories) : [], Is.Empty);
    }

    [TestCase("0.9999999", "not a multiple of 0.001")]
    [TestCase("0.9,0.9004", "not a multiple of 0.001")]
    [TestCase("0.9,0.900", "given 2 times")]
    public void PruneAtInit_SparsitiesThatCannotBeFiledApart_AreRefused(string sparsities, string mention)
    {
        var (code, _, err) = Run("prune-at-init", "--data", Data, "--validation-size", "24", "--epochs", "1", "--sparsities", sparsities, "--root", Root);
        Assert.That(code, Is.EqualTo(2));
        AssertOneLineError(err, mention);
    }

    [Test]
    public void PruneAtInit_WithEveryLayerExcluded_IsRefusedBeforeTraining()
    {
        var (code, _, err) = Run("prune-at-init", "--data", Data, "--validation-size", "24", "--epochs", "1", "--exclude", "fc1,fc2,fc3", "--sparsities", "0,0.5", "--root", Root);
        Assert.That(code, Is.EqualTo(2));
        AssertOneLineError(err, "leaves no layer to prune at sparsity 0.5");
        Assert.That(Directory.Exists(Root) ? Directory.GetFiles(Root, "result.json", SearchOption.AllDirectories) : [], Is.Empty);
    }

    [Test]
    public void PruneAtInit_ADamagedSparsityMask_IsNamed_WithTheRunErrorCode()
    {
        string[] args = ["prune-at-init", "--data", Data, "--validation-size", "24", "--epochs", "1", "--method", "magnitude", "--sanity", "", "--sparsities", "0.5", "--root", Root];
        Assert.That(Run(args).Code, Is.Zero);
        string mask = Directory.GetFiles(Root, "mask.safetensors", SearchOption.AllDirectories).Single(f => Path.GetFileName(Path.GetDirectoryName(f)) == "sparsity_0.500");
        var (tensors, metadata) = SafeTensors.Read(mask);
        var fc1 = tensors["fc1.weight"];
        fc1.Data[0] = 0.5f;
        SafeTensors.Write(mask, tensors, metadata);
        var (code, _, err) = Run(args);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, mask);
        Assert.That(err, Does.Contain("value 0.5"));

        tensors.Remove("fc2.weight");
        SafeTensors.Write(mask, tensors, metadata);
        (code, _, err) = Run(args);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, mask);
        Assert.That(err, Does.Contain("no mask for 'fc2.weight'"));

        tensors["fc2.weight"] = new SafeTensor([10, 10], new float[100]);
        SafeTensors.Write(mask, tensors, metadata);
        (code, _, err) = Run(args);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, mask);
        Assert.That(err, Does.Contain("shape [10,10]"));
    }

    [TestCase("train")]
    [TestCase("lottery")]
    public void AValidationSetAsLargeAsTheTrainingSet_IsAUsageError(string command)
    {
        string[] args = command == "train"
            ? ["train", "--data", Data, "--epochs", "1", "--validation-size", "120", "--out", Path.Combine(_dir, "o")]
            : ["lottery", "--data", Data, "--epochs", "1", "--validation-size", "120", "--root", Root];
        var (code, _, err) = Run(args);
        Assert.That(code, Is.EqualTo(2));
        AssertOneLineError(err, $"validation size 120 must be smaller than the 120 training examples of '{Data}'");
    }

    [Test]
    public void AnEmptyTestSet_IsARunError_NamingTheFile()
    {
        string empty = Path.Combine(_dir, "empty");
        IdxTestFiles.WriteDataset(empty, train: 120, test: 0, gzip: false);
        var (code, _, err) = Run("train", "--data", empty, "--epochs", "1", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, Path.Combine(empty, "t10k-images-idx3-ubyte"));
    }

    [Test]
    public void GzippedLabelsDeclaringTwoBillionLabels_AreARunErrorNamingTheFile_NotAnAbort()
    {
        var header = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, 2049);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), int.MaxValue);
        string labels = Path.Combine(Data, "train-labels-idx1-ubyte.gz");
        File.WriteAllBytes(labels, IdxTestFiles.Gzip([.. header, 1, 2, 3]));
        var (code, _, err) = Run("train", "--data", Data, "--epochs", "1", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, labels);
    }

    [Test]
    public void ChanceLevel_IsTheMostCommonTestClassPlusAPoint()
    {
        var test = new Dataset(new float[10], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6], [1], 10);
        Assert.That(test.MajorityShare(), Is.EqualTo(0.4));
        Assert.That(ChanceLevel.IsAtChance(0.41, test), Is.True);
        Assert.That(ChanceLevel.IsAtChance(0.42, test), Is.False);
        Assert.That(ChanceLevel.IsAtChance(double.NaN, test), Is.True);
    }

    [TestCase("train", "--out")]
    [TestCase("lottery", "--root")]
    public void AnOutputDirectoryThatCannotBeWritten_IsFoundBeforeTraining(string command, string option)
    {
        string blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "a file, not a directory");
        string target = Path.Combine(blocker, "sub");
        string[] args = command == "train"
            ? ["train", "--data", Data, "--epochs", "1", option, target]
            : ["lottery", "--data", Data, "--validation-size", "24", "--epochs", "1", "--levels", "2", option, target];
        var (code, output, err) = Run(args);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLineError(err, $"cannot write in '{target}");
        Assert.That(output, Does.Not.Contain("epoch ").And.Not.Contain("trainings done"));
    }

    [Test]
    public void AnOptionGivenAnEmptyValueWithEquals_DoesNotSwallowTheNextOption()
    {
        var (code, output, err) = Run(["lottery", "--data", Data, "--validation-size", "24", "--epochs", "1", "--branches=", "--levels", "2", "--root", Root]);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("2 levels, branches []"));
    }

    [Test]
    public void LearningRates_AreRecordedAsTyped()
    {
        Assert.That(Run(Lottery("--levels", "1", "--branches", "")).Code, Is.Zero);
        string hyper = File.ReadAllText(Path.Combine(Directory.GetDirectories(Root).Single(), "hyperparameters.json"));
        Assert.That(hyper, Does.Contain("\"lr\": \"0.0012\"").And.Contain($"\"results_version\": {SparseNet.Pruning.Experiments.ResultsFormat.Version}").And.Contain("\"data_fingerprint\": \"sha256:"));

        string outDir = Path.Combine(_dir, "t");
        Assert.That(Run("train", "--data", Data, "--epochs", "1", "--out", outDir).Code, Is.Zero);
        Assert.That(File.ReadAllText(Path.Combine(outDir, "summary.json")), Does.Contain("\"lr\": 0.0012,"));
    }

    [Test]
    public void ASecondWriter_IsTurnedAwayNamingTheReplicateAndTheHolder_AndReportStillReads()
    {
        Assert.That(Run(Lottery("--levels", "2", "--branches", "")).Code, Is.Zero);
        string run = Directory.GetDirectories(Root).Single();
        string replicate = Path.Combine(run, "replicate_0");
        File.Delete(Path.Combine(run, "summary.json"));
        using (var held = DirectoryLock.Acquire(replicate, "a test"))
        {
            var (code, _, err) = Run(Lottery("--levels", "2", "--branches", ""));
            Assert.That(code, Is.EqualTo(1));
            AssertOneLineError(err, $"'{Path.GetFullPath(replicate)}' is in use by pid {Environment.ProcessId} (a test)");

            var report = Run("report", run);
            Assert.That(report.Code, Is.Zero, report.Err);
            Assert.That(report.Out, Does.Contain("Test accuracy (%)").And.Contain($"in progress: replicate_0 is being trained by pid {Environment.ProcessId} (a test)"));
            Assert.That(File.Exists(Path.Combine(run, "summary.json")), Is.True, "report writes the summary of the units finished so far");
        }

        Assert.That(Run("report", run).Out, Does.Not.Contain("in progress"));
    }

    [Test]
    public void OnlySettingsErrorsAreUsageErrors()
    {
        static int Exit(Exception e)
        {
            var command = new Command("boom");
            command.SetAction(new Func<ParseResult, int>(_ => throw e));
            var root = new RootCommand { command };
            var stderr = new StringWriter();
            var old = Console.Error;
            Console.SetError(stderr);
            try
            {
                return CliRunner.Run(root, ["boom"]);
            }
            finally
            {
                Console.SetError(old);
            }
        }

        Assert.That(Exit(new SettingsException("bad --lr")), Is.EqualTo(CliRunner.UsageError));
        Assert.That(Exit(new ArgumentException("an engine bug")), Is.EqualTo(CliRunner.RunError));
        Assert.That(Exit(new ArgumentOutOfRangeException("index")), Is.EqualTo(CliRunner.RunError));
        Assert.That(Exit(new InvalidDataException("bad file")), Is.EqualTo(CliRunner.RunError));
    }
}
