using SparseNet.Engine.IO;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class LotteryExperimentTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-lottery-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 160, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private LotteryConfig Config(int rewind = 0) => new()
    {
        Recipe = new TrainingRecipe { Data = Path.Combine(_dir, "data"), Epochs = 2, BatchSize = 16, LearningRate = 5e-3f, ValidationSize = 32 },
        Levels = 3,
        EvalEvery = 4,
        RewindIteration = rewind,
        Branches = ["random_reinit", "random_prune", "shuffle"],
        Seed = 11,
    };

    // Every file of a run except the units' wall-clock records, which differ from run to run.
    private static Dictionary<string, byte[]> Files(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != UnitTime.FileName)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes, StringComparer.Ordinal);

    [Test]
    public void InterruptedRun_Resumes_AndEndsByteIdenticalToAnUninterruptedRun()
    {
        string whole = Path.Combine(_dir, "whole"), broken = Path.Combine(_dir, "broken");
        new LotteryExperiment(Config(), whole).Run(replicates: 2);

        // Stop in the middle of the fourth training (level 1, a baseline branch), as Ctrl-C would.
        using var cts = new CancellationTokenSource();
        var experiment = new LotteryExperiment(Config(), broken);
        Assert.Throws<OperationCanceledException>(() => experiment.Run(2, p =>
        {
            if (p.UnitsDone == 3 && p.Iteration == 5)
            {
                cts.Cancel();
            }
        }, cancellation: cts.Token));
        Assert.That(Directory.GetFiles(broken, "result.json", SearchOption.AllDirectories), Has.Length.EqualTo(3));

        // As if the process had been killed in the middle of a write.
        string leftover = Path.Combine(broken, "replicate_0", "level_01", $".final.safetensors.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllBytes(leftover, [1, 2, 3]);

        int resumedFrom = -1;
        new LotteryExperiment(Config(), broken).Run(2, p => resumedFrom = resumedFrom < 0 && p.Replicate >= 0 ? p.UnitsDone : resumedFrom);
        Assert.That(resumedFrom, Is.EqualTo(3), "finished trainings are not repeated");

        var expected = Files(whole);
        var actual = Files(broken);
        Assert.That(actual.Keys.Order(), Is.EqualTo(expected.Keys.Order()));
        Assert.That(expected.Keys.Count(k => k.EndsWith("result.json", StringComparison.Ordinal)), Is.EqualTo(2 * (3 + (2 * 3))));
        foreach (var (path, bytes) in expected)
        {
            Assert.That(actual[path], Is.EqualTo(bytes), path);
        }
    }

    [Test]
    public void PrunedWeights_StayExactlyZero_AndLevelsPruneTheExpectedCounts()
    {
        string run = Path.Combine(_dir, "run");
        var summary = new LotteryExperiment(Config(), run).Run(1);
        string level2 = Path.Combine(run, "replicate_0", "level_02", "lottery");
        var mask = SafeTensors.Read(Path.Combine(level2, "mask.safetensors")).Tensors;
        var final = SafeTensors.Read(Path.Combine(level2, "final.safetensors")).Tensors;
        foreach (var (name, m) in mask)
        {
            var w = final[name].Data;
            for (int i = 0; i < w.Length; i++)
            {
                if (m.Data[i] == 0f)
                {
                    Assert.That(w[i], Is.EqualTo(0f), $"{name}[{i}] is pruned but nonzero");
                }
            }
        }

        // 12 inputs → fc1 [300,12] = 3600 weights: 3600 → 2880 → 2304 kept; the output layer [10,100] at 10%: 1000 → 900 → 810.
        Assert.That(mask["fc1.weight"].Data.Count(v => v != 0f), Is.EqualTo(2304));
        Assert.That(mask["fc2.weight"].Data.Count(v => v != 0f), Is.EqualTo(19200));
        Assert.That(mask["fc3.weight"].Data.Count(v => v != 0f), Is.EqualTo(810));

        var lottery = summary.Branches["lottery"];
        Assert.That(lottery.Select(p => p.Level), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(lottery[2].WeightsRemaining, Is.EqualTo((2304 + 19200 + 810) / (double)(3600 + 30000 + 1000)).Within(1e-12));
        Assert.That(summary.Branches["random_prune"][2].WeightsRemaining, Is.EqualTo(lottery[2].WeightsRemaining).Within(1e-12));
        Assert.That(File.Exists(Path.Combine(run, "summary.json")), Is.True);
        Assert.That(File.ReadAllLines(Path.Combine(level2, "metrics.jsonl")), Has.Length.EqualTo(1 + (16 / 4)), "iteration 0 and every 4th of 16");
    }

    [Test]
    public void Rewinding_StartsLevelsFromTheDenseRunsWeightsAtIterationK()
    {
        string run = Path.Combine(_dir, "rewind");
        new LotteryExperiment(Config(rewind: 3), run).Run(1);
        var rewind = SafeTensors.Read(Path.Combine(run, "replicate_0", "rewind.safetensors")).Tensors;
        var init1 = SafeTensors.Read(Path.Combine(run, "replicate_0", "level_01", "lottery", "init.safetensors")).Tensors;
        var mask1 = SafeTensors.Read(Path.Combine(run, "replicate_0", "level_01", "lottery", "mask.safetensors")).Tensors;
        var init0 = SafeTensors.Read(Path.Combine(run, "replicate_0", "level_00", "lottery", "init.safetensors")).Tensors;
        var w = init1["fc2.weight"].Data;
        var m = mask1["fc2.weight"].Data;
        var expected = rewind["fc2.weight"].Data.Select((v, i) => v * m[i]).ToArray();
        Assert.That(w, Is.EqualTo(expected));
        Assert.That(w, Is.Not.EqualTo(init0["fc2.weight"].Data.Select((v, i) => v * m[i]).ToArray()));
    }

    [Test]
    public void RewoundLevels_TrainFromKToT_AndAnUnprunedRewoundLevelEndsAsTheDenseRunWithPlainSgd()
    {
        // A rate so small that no weight is pruned: level 1 is the dense network rewound to θₖ.
        string run = Path.Combine(_dir, "rewind-sgd");
        var config = Config(rewind: 5) with
        {
            Recipe = Config().Recipe with { Optimizer = "sgd", LearningRate = 0.05f, LrMilestones = [9] },
            PruneRate = 1e-9,
            OutputPruneRate = 1e-9,
            Levels = 2,
            Branches = ["random_prune"],
        };
        new LotteryExperiment(config, run).Run(1);
        string level0 = Path.Combine(run, "replicate_0", "level_00", "lottery"), level1 = Path.Combine(run, "replicate_0", "level_01", "lottery");
        var dense = UnitResult.Load(Path.Combine(level0, "result.json"));
        var rewound = UnitResult.Load(Path.Combine(level1, "result.json"));
        var branch = UnitResult.Load(Path.Combine(run, "replicate_0", "level_01", "random_prune", "result.json"));
        Assert.That((dense.StartIteration, dense.Iterations), Is.EqualTo((0, 16)));
        Assert.That((rewound.StartIteration, rewound.Iterations), Is.EqualTo((5, 16 - 5)));
        Assert.That((branch.StartIteration, branch.Iterations), Is.EqualTo((5, 16 - 5)));
        Assert.That(rewound.WeightsRemaining, Is.EqualTo(1.0));
        var a = SafeTensors.Read(Path.Combine(level0, "final.safetensors")).Tensors;
        var b = SafeTensors.Read(Path.Combine(level1, "final.safetensors")).Tensors;
        Assert.That(b.Keys, Is.EquivalentTo(a.Keys));
        foreach (var (name, tensor) in a)
        {
            Assert.That(b[name].Data, Is.EqualTo(tensor.Data), name);
        }

        Assert.That(File.ReadLines(Path.Combine(level1, "metrics.jsonl")).First(), Does.StartWith("{\"iteration\":5,"));
        Assert.That(UnitTime.Read(level1), Is.GreaterThan(0));
    }

    [Test]
    public void DataSeed_ChangesTheBatchOrderButNotTheInitialisation()
    {
        string a = Path.Combine(_dir, "seed-a"), b = Path.Combine(_dir, "seed-b");
        var config = Config() with { Levels = 1, Branches = [] };
        new LotteryExperiment(config, a).Run(1);
        new LotteryExperiment(config with { DataSeed = 1234 }, b).Run(1);
        string Unit(string run, string file) => Path.Combine(run, "replicate_0", "level_00", "lottery", file);
        Assert.That(File.ReadAllBytes(Unit(b, "init.safetensors")), Is.EqualTo(File.ReadAllBytes(Unit(a, "init.safetensors"))));
        Assert.That(File.ReadAllBytes(Unit(b, "final.safetensors")), Is.Not.EqualTo(File.ReadAllBytes(Unit(a, "final.safetensors"))));
        Assert.That(config.Hash("x"), Is.Not.EqualTo((config with { DataSeed = 1234 }).Hash("x")));
        Assert.That(config.Hash("x"), Is.EqualTo((config with { DataSeed = null }).Hash("x")));
    }

    [Test]
    public void BranchLevels_LimitWhereBranchesRun_AndLaterRunsAddToTheSameUnits()
    {
        string run = Path.Combine(_dir, "partial");
        var config = Config() with { BranchLevels = [2], Branches = ["random_prune"] };
        var experiment = new LotteryExperiment(config, run);
        Assert.That(experiment.UnitCount(1), Is.EqualTo(3 + 1));
        experiment.Run(1);
        var results = Directory.GetFiles(run, "result.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(run, f)).Order(StringComparer.Ordinal);
        Assert.That(results, Is.EqualTo(new[]
        {
            Path.Combine("replicate_0", "level_00", "lottery", "result.json"),
            Path.Combine("replicate_0", "level_01", "lottery", "result.json"),
            Path.Combine("replicate_0", "level_02", "lottery", "result.json"),
            Path.Combine("replicate_0", "level_02", "random_prune", "result.json"),
        }));

        int trained = 0;
        new LotteryExperiment(config with { BranchLevels = [] }, run).Run(1, p => trained += p.Iteration == 1 ? 1 : 0);
        Assert.That(trained, Is.EqualTo(1), "only level 1's random_prune is new");
    }

    [Test]
    public void RewindPastTheEndOfTraining_IsRejectedBeforeAnyTraining()
    {
        string run = Path.Combine(_dir, "late");
        var ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => new LotteryExperiment(Config(rewind: 17), run).Run(1));
        Assert.That(ex!.Message, Does.Contain("17").And.Contain("16 iterations"));
        Assert.That(Directory.Exists(run), Is.False, "refused before the run directory is created");
    }

    [Test]
    public void LevelsFor_TargetSparsity_FollowsTheLogFormula()
    {
        Assert.That(LotteryConfig.LevelsFor(0.964, 0.2), Is.EqualTo(16));
        Assert.That(LotteryConfig.LevelsFor(0.36, 0.2), Is.EqualTo(3));
        Assert.That(LotteryConfig.LevelsFor(0.5, 0.2), Is.EqualTo(5));
        Assert.Throws<SparseNet.Engine.SettingsException>(() => LotteryConfig.LevelsFor(1.0, 0.2));
    }

    [Test]
    public void RunName_DependsOnlyOnNonDefaultSettings()
    {
        var defaults = new LotteryConfig();
        var explicitDefaults = new LotteryConfig { Levels = 16, PruneRate = 0.2, Recipe = new TrainingRecipe { ValidationSize = 1000, Epochs = 20 } };
        Assert.That(explicitDefaults.Hash("sha256:00"), Is.EqualTo(defaults.Hash("sha256:00")));
        Assert.That(defaults.NonDefaultSettings(), Is.Empty);
        var other = new LotteryConfig { PruneRate = 0.25 };
        Assert.That(other.Hash("sha256:00"), Is.Not.EqualTo(defaults.Hash("sha256:00")));
        Assert.That(other.NonDefaultSettings().Single().Key, Is.EqualTo("prune_rate"));

        // How much of the experiment runs does not change what a training computes, so it shares the directory.
        var more = new LotteryConfig { Levels = 20, Branches = ["shuffle"], BranchLevels = [3] };
        Assert.That(more.Hash("sha256:00"), Is.EqualTo(defaults.Hash("sha256:00")));
    }

    [Test]
    public void AMaskThatEmptiesALayer_IsRefusedNamingIt_UnlessEmptyLayersAreAllowed()
    {
        var mask = new SparseNet.Pruning.Masks.MaskSet([("fc1.weight", [2, 2], [1f, 0f, 1f, 1f]), ("fc2.weight", [1, 3], [0f, 0f, 0f])]);
        var ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => new LotteryConfig().CheckNoEmptyLayer(mask, "global pruning at level 9"));
        Assert.That(ex!.Message, Does.StartWith("global pruning at level 9 leaves no weight in fc2.weight (layer collapse)").And.Contain("--allow-empty-layers"));
        Assert.DoesNotThrow(() => new LotteryConfig { AllowEmptyLayers = true }.CheckNoEmptyLayer(mask, "x"));
        Assert.That(new LotteryConfig { AllowEmptyLayers = true }.Hash("sha256:00"), Is.EqualTo(new LotteryConfig().Hash("sha256:00")), "allowing empty layers never changes a mask that keeps them");
    }

    [Test]
    public void BadSettings_AreRejectedNamingTheValue()
    {
        var ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => new LotteryConfig { PruneRate = 1.5 }.Validate());
        Assert.That(ex!.Message, Does.Contain("1.5"));
        ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => new LotteryConfig { Branches = ["bogus"] }.Validate());
        Assert.That(ex!.Message, Does.Contain("bogus"));
    }
}
