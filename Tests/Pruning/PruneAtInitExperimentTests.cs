using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class PruneAtInitExperimentTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-pai-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 160, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Sweep_TrainsEachMaskWithItsChecks_AndSharesTheRunWithImp()
    {
        var config = new LotteryConfig
        {
            Recipe = new TrainingRecipe { Data = Path.Combine(_dir, "data"), Epochs = 1, BatchSize = 16, LearningRate = 5e-3f, ValidationSize = 32 },
            Levels = 2,
            EvalEvery = 4,
            Branches = [],
            Seed = 3,
        };
        var settings = new PruneAtInitSettings { Methods = ["snip", "random"], Sparsities = [0, 0.9], SnipBatch = 20, GraspPerClass = 2 };
        string run = Path.Combine(_dir, "run");
        new LotteryExperiment(config, run).Run(1);
        var experiment = new PruneAtInitExperiment(config, settings, run);
        Assert.That(experiment.UnitCount(1), Is.EqualTo(1 + 4 + 3));

        int trained = 0;
        var summary = experiment.Run(1, p => trained += p.Iteration == 1 ? 1 : 0);
        Assert.That(trained, Is.EqualTo(8));
        Assert.That(summary.Branches.Keys, Is.SupersetOf(new[] { "lottery", "dense", "snip", "snip_shuffled", "snip_reinitialized", "snip_inverted", "random", "random_shuffled", "random_reinitialized" }));
        Assert.That(summary.Branches.ContainsKey("random_inverted"), Is.False);

        var snip = summary.Branches["snip"].Single();
        Assert.That(snip.Level, Is.EqualTo(900));
        Assert.That(snip.WeightsRemaining, Is.EqualTo(0.1).Within(1e-4));
        Assert.That(summary.Branches["snip_shuffled"].Single().WeightsRemaining, Is.EqualTo(snip.WeightsRemaining));
        Assert.That(summary.Branches["dense"].Single().TestAccuracy, Is.EqualTo(summary.Branches["lottery"][0].TestAccuracy), "the dense reference is IMP's level 0");

        // A second run finds everything finished.
        trained = 0;
        experiment.Run(1, p => trained += p.Iteration == 1 ? 1 : 0);
        Assert.That(trained, Is.Zero);
    }
}
