using SparseNet.Engine.IO;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;
using SparseNet.Reporting;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class TicketOverlapTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-overlap-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private LotteryConfig Config(ulong? dataSeed = null) => new()
    {
        Recipe = new TrainingRecipe { Data = Path.Combine(_dir, "data"), Epochs = 1, BatchSize = 16, LearningRate = 5e-3f, ValidationSize = 24 },
        Levels = 3,
        EvalEvery = 4,
        Branches = [],
        Seed = 5,
        DataSeed = dataSeed,
    };

    private static MaskSet Read(string path)
    {
        var tensors = SafeTensors.Read(path).Tensors;
        return new MaskSet(tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.Shape, kv.Value.Data)));
    }

    [Test]
    public void WithinRun_ComparesEveryPairOfReplicates_WithTheirMasksAndAccuracies()
    {
        string run = Path.Combine(_dir, "run");
        new LotteryExperiment(Config(), run).Run(replicates: 3);

        var summary = TicketOverlap.WithinRun(run)!;

        Assert.That(summary.Levels.Select(l => l.Level), Is.EqualTo(new[] { 1, 2 }));
        var level = summary.Levels[1];
        Assert.That(level.Pairs.Select(p => (p.A, p.B)), Is.EqualTo(new[] { ("replicate 0", "replicate 1"), ("replicate 0", "replicate 2"), ("replicate 1", "replicate 2") }));
        string Mask(int r) => Path.Combine(run, $"replicate_{r}", "level_02", "lottery", "mask.safetensors");
        var expected = MaskOverlap.Compare(Read(Mask(1)), Read(Mask(2)));
        Assert.That(level.Pairs[2].Layers, Is.EqualTo(expected));
        Assert.That(level.TestAccuracies.Select(t => t.Ticket), Is.EqualTo(new[] { "replicate 0", "replicate 1", "replicate 2" }));
        Assert.That(summary.Description, Does.Contain("different θ₀ and data order"));

        var rows = TicketOverlapSummary.Rows(level);
        Assert.That(rows.Select(r => r.Name), Is.EqualTo(new[] { "fc1.weight", "fc2.weight", "fc3.weight", MaskOverlap.Overall }));
        Assert.That(rows[^1].Jaccard, Is.EqualTo(level.Pairs.Average(p => p.Layers[^1].Jaccard)));

        string table = OverlapTable.Format(summary);
        Assert.That(table, Does.Contain("level 2, ").And.Contain("fc1.weight").And.Contain("overall").And.Contain("chance").And.Contain("test accuracy (%): replicate 0 "));
        Assert.That(summary.ToJson(), Does.Contain("\"chance_jaccard\"").And.Contain("\"pairs\""));
    }

    [Test]
    public void BetweenRuns_SaysWhatDiffers_AndARunAgainstItselfOverlapsCompletely()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        new LotteryExperiment(Config(), a).Run(replicates: 1);
        new LotteryExperiment(Config(dataSeed: 40), b).Run(replicates: 1);

        var self = TicketOverlap.BetweenRuns(a, a);
        Assert.That(self.Description, Does.Contain("same θ₀").And.Contain("same data order"));
        Assert.That(self.Levels.SelectMany(l => l.Pairs).SelectMany(p => p.Layers).Select(l => l.Jaccard), Is.All.EqualTo(1.0));

        var other = TicketOverlap.BetweenRuns(a, b);
        Assert.That(other.Description, Does.Contain("same θ₀ (seed 5+r), different data order (data seeds 5+r and 40+r)"));
        Assert.That(other.Levels.Select(l => l.Pairs.Count), Is.All.EqualTo(1));
    }
}
