using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class TransferCliTests
{
    private string _dir = string.Empty;
    private string _source = string.Empty;

    [OneTimeSetUp]
    public void TrainSource()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-transfer-cli-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: false);
        string target = Path.Combine(_dir, "other");
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, "train-images-idx3-ubyte"), IdxTestFiles.Images(120, 4, 3, i => (byte)((i * 7) % 256)));
        File.WriteAllBytes(Path.Combine(target, "train-labels-idx1-ubyte"), IdxTestFiles.Labels(Enumerable.Range(0, 120).Select(i => (byte)((i * 3) % 10)).ToArray()));
        File.WriteAllBytes(Path.Combine(target, "t10k-images-idx3-ubyte"), IdxTestFiles.Images(40, 4, 3, i => (byte)((i * 5) % 256)));
        File.WriteAllBytes(Path.Combine(target, "t10k-labels-idx1-ubyte"), IdxTestFiles.Labels(Enumerable.Range(0, 40).Select(i => (byte)(i % 10)).ToArray()));
        var (code, output, err) = CliTests.Run([.. Lottery("data", "source"), "--replicates", "2"]);
        Assert.That(code, Is.Zero, err);
        _source = Directory.GetDirectories(Path.Combine(_dir, "source"), "lottery-*").Single();
        Assert.That(output, Does.Contain("Ticket overlap: tickets of different replicates"), "the report compares the replicates' tickets");
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string[] Lottery(string data, string root) =>
        ["lottery", "--data", Path.Combine(_dir, data), "--validation-size", "24", "--epochs", "1", "--batch-size", "16", "--levels", "3", "--eval-every", "4", "--branches", "", "--root", Path.Combine(_dir, root)];

    [Test]
    public void Lottery_TransfersTheChosenLevels_AndTheReportShowsThemBesideItsOwnTickets()
    {
        var (code, output, err) = CliTests.Run([.. Lottery("other", "target"), "--transfer-from", _source, "--transfer-levels", "2"]);

        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain($"tickets of {_source} at levels 2").And.Contain("finished 5 trainings"));
        Assert.That(output, Does.Match(@"transfer_[0-9a-f]{6}_random"));
        Assert.That(output, Does.Contain($"tickets of {_source} (lenet_300_100 on {Path.Combine(_dir, "data")}, seed 1+r)"));
    }

    [Test]
    public void Lottery_FromASourceOfAnotherInit_IsAUsageError_NamingBothRunsAndValues()
    {
        var (code, _, err) = CliTests.Run([.. Lottery("other", "kaiming"), "--init", "kaiming", "--transfer-from", _source]);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(err, Does.Contain(_source).And.Contain("GlorotNormal").And.Contain("KaimingNormal").And.Contain(Path.Combine(_dir, "kaiming")));

        var (levelsAlone, _, levelsErr) = CliTests.Run([.. Lottery("other", "alone"), "--transfer-levels", "2"]);
        Assert.That(levelsAlone, Is.EqualTo(2));
        Assert.That(levelsErr, Does.Contain("--transfer-levels needs --transfer-from"));
    }

    [Test]
    public void Train_TrainsTheTicketOrItsRandomMask_FromTheSourcesTheta0()
    {
        string ticket = Path.Combine(_dir, "ticket"), random = Path.Combine(_dir, "random");
        string[] train = ["train", "--data", Path.Combine(_dir, "other"), "--epochs", "1", "--batch-size", "16", "--transfer-from", _source, "--transfer-level", "2", "--transfer-replicate", "1"];
        var (code, output, err) = CliTests.Run([.. train, "--out", ticket]);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain($"training the ticket of {_source} replicate 1 level 2"));
        Assert.That(CliTests.Run([.. train, "--transfer-random", "--out", random]).Code, Is.Zero);

        var mask = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(_source, "replicate_1", "level_02", "lottery", "mask.safetensors")).Tensors;
        var trained = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(ticket, "final.safetensors")).Tensors;
        var randomTrained = SparseNet.Engine.IO.SafeTensors.Read(Path.Combine(random, "final.safetensors")).Tensors;
        foreach (var (name, m) in mask)
        {
            // Pruned weights stay exactly zero: the ticket's own where its mask is 0; as many in the random mask,
            // which keeps weights the ticket pruned.
            Assert.That(Enumerable.Range(0, m.Data.Length).Where(i => m.Data[i] == 0).All(i => trained[name].Data[i] == 0f), Is.True, name);
            Assert.That(randomTrained[name].Data.Count(v => v != 0f), Is.LessThanOrEqualTo(m.Data.Count(v => v != 0f)), name);
            Assert.That(Enumerable.Range(0, m.Data.Length).Any(i => m.Data[i] == 0 && randomTrained[name].Data[i] != 0f), Is.True, $"{name}: the random mask is not the ticket's");
        }

        // θ₀ is the source replicate's: the hash recorded is that of its dense level's initial weights.
        string theta0 = Path.Combine(_source, "replicate_1", "level_00", "lottery", "init.safetensors");
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(theta0)));
        Assert.That(File.ReadAllText(Path.Combine(ticket, "transfer.json")), Does.Contain("\"mask\": \"ticket\"").And.Contain($"\"theta0_sha256\": \"{sha}\""));
        Assert.That(File.ReadAllText(Path.Combine(random, "transfer.json")), Does.Contain("random, same per-layer densities"));

        var (missing, _, missingErr) = CliTests.Run("train", "--data", Path.Combine(_dir, "other"), "--transfer-from", _source, "--out", Path.Combine(_dir, "x"));
        Assert.That(missing, Is.EqualTo(2));
        Assert.That(missingErr, Does.Contain("--transfer-level"));
    }

    [Test]
    public void AnalyzeOverlap_ComparesTheTicketsOfTwoRuns()
    {
        var (code, output, err) = CliTests.Run("analyze", "overlap", _source, _source, "--json", Path.Combine(_dir, "overlap.json"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("same θ₀ (seed 1+r), same data order").And.Contain("fc2.weight").And.Contain("overall"));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "overlap.json")), Does.Contain("\"chance_jaccard\""));
    }
}
