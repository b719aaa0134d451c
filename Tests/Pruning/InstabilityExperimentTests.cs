using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class InstabilityExperimentTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-instability-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 160, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // 128 training examples at batch 16: 8 iterations an epoch, 16 in all.
    private InstabilityConfig Config() => new()
    {
        Training = new LotteryConfig
        {
            Recipe = new TrainingRecipe { Data = Path.Combine(_dir, "data"), Epochs = 2, BatchSize = 16, Optimizer = "sgd", LearningRate = 0.05f, ValidationSize = 32 },
            EvalEvery = 4,
            Seed = 5,
        },
        RewindIterations = [0, 3],
        Points = 4,
    };

    private static Dictionary<string, byte[]> Files(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != UnitTime.FileName)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes, StringComparer.Ordinal);

    [Test]
    public void CopiesTrainFromThetaKToT_AndThePathEndsAtTheCopies()
    {
        string run = Path.Combine(_dir, "run");
        var experiment = new InstabilityExperiment(Config(), run);
        Assert.That(experiment.UnitCount(1), Is.EqualTo(1 + (3 * 2)));
        var summary = experiment.Run(1);
        Assert.That(summary.Rows.Select(r => r.RewindIteration), Is.EqualTo(new[] { 0, 3 }));

        string replicate = Path.Combine(run, "replicate_0");
        var trunk = UnitResult.Load(Path.Combine(replicate, "trunk", "result.json"));
        Assert.That((trunk.StartIteration, trunk.Iterations), Is.EqualTo((0, 3)), "the trunk stops at the largest k");
        foreach (int k in new[] { 0, 3 })
        {
            string kDir = InstabilityExperiment.RewindDirectory(replicate, k);
            var a = UnitResult.Load(Path.Combine(kDir, "copy_a", "result.json"));
            var b = UnitResult.Load(Path.Combine(kDir, "copy_b", "result.json"));
            Assert.That((a.StartIteration, a.Iterations), Is.EqualTo((k, 16 - k)));
            Assert.That((b.StartIteration, b.Iterations), Is.EqualTo((k, 16 - k)));
            Assert.That(File.ReadAllBytes(Path.Combine(kDir, "copy_a", "final.safetensors")), Is.Not.EqualTo(File.ReadAllBytes(Path.Combine(kDir, "copy_b", "final.safetensors"))), "different data orders");

            // Both copies start from the same θₖ.
            var initA = SafeTensors.Read(Path.Combine(kDir, "copy_a", "init.safetensors")).Tensors;
            var initB = SafeTensors.Read(Path.Combine(kDir, "copy_b", "init.safetensors")).Tensors;
            Assert.That(initB["fc1.weight"].Data, Is.EqualTo(initA["fc1.weight"].Data));

            // Without batch norm, α = 0 and α = 1 are the copies themselves.
            var path = InstabilityPath.Load(Path.Combine(kDir, InstabilityExperiment.PathFile));
            Assert.That(path.Points.Select(p => p.Alpha), Is.EqualTo(new[] { 0, 1 / 3.0, 2 / 3.0, 1 }));
            Assert.That(path.Points[0].TestAccuracy, Is.EqualTo(a.TestAccuracy));
            Assert.That(path.Points[^1].TestAccuracy, Is.EqualTo(b.TestAccuracy));
            Assert.That(path.Points[0].TestLoss, Is.EqualTo(a.TestLoss).Within(1e-6));
            Assert.That(path.ErrorBarrier, Is.EqualTo(path.Points.Max(p => 1 - p.TestAccuracy) - ((2 - a.TestAccuracy - b.TestAccuracy) / 2)).Within(1e-12));
        }

        // θ₃ is what the trunk had after 3 iterations, and what the k = 3 copies start from.
        var start3 = SafeTensors.Read(Path.Combine(InstabilityExperiment.RewindDirectory(replicate, 3), "start.safetensors")).Tensors;
        var init3 = SafeTensors.Read(Path.Combine(InstabilityExperiment.RewindDirectory(replicate, 3), "copy_a", "init.safetensors")).Tensors;
        var theta0 = SafeTensors.Read(Path.Combine(replicate, "trunk", "init.safetensors")).Tensors;
        Assert.That(init3["fc2.weight"].Data, Is.EqualTo(start3["fc2.weight"].Data));
        Assert.That(start3["fc2.weight"].Data, Is.Not.EqualTo(theta0["fc2.weight"].Data));
        Assert.That(File.Exists(Path.Combine(run, "summary.json")), Is.True);
        Assert.That(InstabilityConfig.IsInstabilityRun(run), Is.True);
    }

    [Test]
    public void InterruptedRun_ResumesAndEndsWithTheSameFiles_AndAChangedPathIsRefused()
    {
        string whole = Path.Combine(_dir, "whole"), broken = Path.Combine(_dir, "broken");
        new InstabilityExperiment(Config(), whole).Run(1);

        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => new InstabilityExperiment(Config(), broken).Run(1, p =>
        {
            if (p.UnitsDone == 2 && p.Iteration == 4)
            {
                cts.Cancel();
            }
        }, cancellation: cts.Token));
        int resumedFrom = -1;
        new InstabilityExperiment(Config(), broken).Run(1, p => resumedFrom = resumedFrom < 0 && p.Replicate >= 0 ? p.UnitsDone : resumedFrom);
        Assert.That(resumedFrom, Is.EqualTo(2));
        var expected = Files(whole);
        var actual = Files(broken);
        Assert.That(actual.Keys.Order(StringComparer.Ordinal), Is.EqualTo(expected.Keys.Order(StringComparer.Ordinal)));
        foreach (var (path, bytes) in expected)
        {
            Assert.That(actual[path], Is.EqualTo(bytes), path);
        }

        string pathFile = Path.Combine(InstabilityExperiment.RewindDirectory(Path.Combine(broken, "replicate_0"), 3), InstabilityExperiment.PathFile);
        File.WriteAllText(pathFile, File.ReadAllText(pathFile).Replace("\"alpha\": 1", "\"alpha\": 0.5", StringComparison.Ordinal));
        var ex = Assert.Throws<DamagedUnitException>(() => new InstabilityExperiment(Config(), broken).Run(1));
        Assert.That(ex!.Message, Does.Contain("path.json"));
    }

    [Test]
    public void ATicket_TrainsItsCopiesFromItsOwnThetaKUnderItsMask()
    {
        // A ticket from a small rewinding lottery run: level 1's mask and the dense run's θ₃.
        string lottery = Path.Combine(_dir, "lottery");
        new LotteryExperiment(Config().Training with { Levels = 2, RewindIteration = 3, Branches = [] }, lottery).Run(1);
        string maskFile = Path.Combine(lottery, "replicate_0", "level_01", "lottery", "mask.safetensors");
        string startFile = Path.Combine(lottery, "replicate_0", "rewind.safetensors");
        var config = Config() with { RewindIterations = [3], TicketMask = maskFile, TicketStart = startFile };
        string run = Path.Combine(_dir, "ticket");
        var experiment = new InstabilityExperiment(config, run);
        Assert.That(experiment.UnitCount(1), Is.EqualTo(3), "two copies and a path, no trunk");
        experiment.Run(1);

        Assert.That(Directory.Exists(Path.Combine(run, "replicate_0", "trunk")), Is.False);
        string kDir = InstabilityExperiment.RewindDirectory(Path.Combine(run, "replicate_0"), 3);
        var mask = SafeTensors.Read(maskFile).Tensors["fc1.weight"].Data;
        Assert.That(mask.Count(m => m == 0), Is.GreaterThan(0));
        var start = SafeTensors.Read(startFile).Tensors["fc1.weight"].Data;
        foreach (string copy in InstabilityExperiment.Copies)
        {
            var result = UnitResult.Load(Path.Combine(kDir, copy, "result.json"));
            Assert.That((result.StartIteration, result.Iterations), Is.EqualTo((3, 13)));
            var init = SafeTensors.Read(Path.Combine(kDir, copy, "init.safetensors")).Tensors["fc1.weight"].Data;
            var final = SafeTensors.Read(Path.Combine(kDir, copy, "final.safetensors")).Tensors["fc1.weight"].Data;
            Assert.That(init, Is.EqualTo(start.Select((v, i) => v * mask[i]).ToArray()));
            Assert.That(mask.Select((m, i) => m == 0 ? final[i] : 0f), Is.All.EqualTo(0f), "pruned weights stay zero");
        }

        Assert.That(InstabilityPath.Load(Path.Combine(kDir, InstabilityExperiment.PathFile)).Points, Has.Count.EqualTo(4));
        Assert.That(InstabilityExperiment.DirectoryFor(config, _dir), Is.Not.EqualTo(InstabilityExperiment.DirectoryFor(config with { TicketMask = null, TicketStart = null }, _dir)));
        Assert.Throws<SparseNet.Engine.SettingsException>(() => new InstabilityExperiment(config with { RewindIterations = [0, 3] }, run));
        Assert.Throws<SparseNet.Engine.SettingsException>(() => new InstabilityExperiment(config with { TicketStart = null }, run));
    }

    [Test]
    public void ARewindIterationPastTheEnd_IsRefusedBeforeAnyTraining()
    {
        string run = Path.Combine(_dir, "late");
        var ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => new InstabilityExperiment(Config() with { RewindIterations = [0, 17] }, run).Run(1));
        Assert.That(ex!.Message, Does.Contain("17").And.Contain("16 iterations"));
        Assert.That(Directory.Exists(Path.Combine(run, "replicate_0")), Is.False);
    }

    [Test]
    public void Interpolate_IsTheWeightedMeanOfTwoStates_AndRefusesMismatchedShapes()
    {
        var a = new Dictionary<string, SafeTensor> { ["w"] = new([2], [1f, -2f]) };
        var b = new Dictionary<string, SafeTensor> { ["w"] = new([2], [3f, 6f]) };
        Assert.That(InstabilityExperiment.Interpolate(a, b, 0)["w"].Data, Is.EqualTo(new[] { 1f, -2f }));
        Assert.That(InstabilityExperiment.Interpolate(a, b, 0.25)["w"].Data, Is.EqualTo(new[] { 1.5f, 0f }));
        Assert.That(InstabilityExperiment.Interpolate(a, b, 1)["w"].Data, Is.EqualTo(new[] { 3f, 6f }));
        var c = new Dictionary<string, SafeTensor> { ["w"] = new([3], [1f, 2f, 3f]) };
        Assert.Throws<InvalidDataException>(() => InstabilityExperiment.Interpolate(a, c, 0.5));
    }

    [Test]
    public void RecomputedBatchNormStatistics_AreTheMeanOfTheBatchStatistics()
    {
        var rng = new System.Random(3);
        var features = Enumerable.Range(0, 24 * 2 * 3 * 3).Select(_ => (float)((rng.NextDouble() * 4) - 1)).ToArray();
        var data = new Dataset(features, new int[24], [2, 3, 3], 2);
        var norm = new BatchNorm2d(2);
        var model = new Sequential(("bn", norm));
        norm.RunningMean.CopyFrom(Tensor.FromArray([5f, 5f], [2]));
        InstabilityExperiment.RecomputeBatchNorm(model, [norm], data, batchSize: 8, batches: 3, seed: 4);

        // The same three batches, by hand: per channel the mean of the batch means and of the unbiased batch variances.
        var sampler = new BatchSampler(24, 8, shuffle: true, 4);
        for (int c = 0; c < 2; c++)
        {
            double meanSum = 0, varSum = 0;
            for (int t = 0; t < 3; t++)
            {
                var values = sampler.Batch(0, t).ToArray().SelectMany(i => features.Skip((i * 18) + (c * 9)).Take(9)).Select(v => (double)v).ToList();
                double mean = values.Average();
                meanSum += mean;
                varSum += values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
            }

            Assert.That(norm.RunningMean.ToArray()[c], Is.EqualTo(meanSum / 3).Within(1e-5));
            Assert.That(norm.RunningVar.ToArray()[c], Is.EqualTo(varSum / 3).Within(1e-5));
        }

        Assert.That(norm.Momentum, Is.EqualTo(0.1f), "the layer's own momentum is restored");
        Assert.That(model.IsTraining, Is.False);
    }
}
