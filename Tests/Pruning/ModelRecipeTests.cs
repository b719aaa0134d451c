using SparseNet.Engine;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class ModelRecipeTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-recipes-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 96, test: 20, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void DefaultRun_KeepsItsName()
    {
        // The name of the default run at results version 10 (the version enters the name; at version 9 it was bbe723ad0f, at version 8 c19e6506ee, at version 7 2fa95a2e0a, at version 6 531f0a7ab9, at version 5 2afcffcd63, at version 4 2d746b3f40,
        // from before per-model recipes and per-type rates existed): adding settings at their defaults must not rename it.
        Assert.That(new LotteryConfig().Hash("sha256:00"), Is.EqualTo("62fde7ddbb"));
        var lenet = LotteryRecipes.For("lenet_300_100");
        Assert.That(lenet.Hash("sha256:00"), Is.EqualTo("62fde7ddbb"));
        Assert.That(lenet.NonDefaultSettings(), Is.Empty);
        Assert.That(ModelRecipes.For("lenet_300_100"), Is.EqualTo(new TrainingRecipe()));
    }

    [Test]
    public void PerTypeRates_EnterTheRunNameOnlyWhereTheyChangeARate()
    {
        var defaults = new LotteryConfig();
        Assert.That(new LotteryConfig { ConvPruneRate = 0.2, FcPruneRate = 0.2 }.Hash("sha256:00"), Is.EqualTo(defaults.Hash("sha256:00")), "the same rates as --prune-rate");
        Assert.That(new LotteryConfig { ConvPruneRate = 0.1 }.NonDefaultSettings().Single(), Is.EqualTo(new KeyValuePair<string, string>("conv_prune_rate", "0.1")));
        Assert.That(new LotteryConfig { FcPruneRate = 0.3 }.NonDefaultSettings().Single(), Is.EqualTo(new KeyValuePair<string, string>("fc_prune_rate", "0.3")));
        Assert.That(new LotteryConfig { Recipe = new TrainingRecipe { ValidationSize = 1000, LrMilestoneEpochs = [3] } }.NonDefaultSettings().Single().Key, Is.EqualTo("lr_milestone_epochs"));
    }

    [Test]
    public void Recipes_AreThePublishedOnes()
    {
        var resnet = LotteryRecipes.For("resnet20");
        Assert.That(resnet.Recipe, Is.EqualTo(new TrainingRecipe
        {
            Model = "resnet20", Optimizer = "sgd", LearningRate = 0.1f, Momentum = 0.9f, WeightDecay = 1e-4f, BatchSize = 128, Epochs = 160,
            LrMilestoneEpochs = resnet.Recipe.LrMilestoneEpochs, Init = InitScheme.KaimingNormal, ValidationSize = 1000,
        }));
        Assert.That(resnet.Recipe.LrMilestoneEpochs, Is.EqualTo(new[] { 80, 120 }));
        Assert.That((resnet.Global, resnet.PruneRate, resnet.Exclude), Is.EqualTo((true, 0.2, (IReadOnlyList<string>)[])));

        var vgg = LotteryRecipes.For("vgg16");
        Assert.That((vgg.Global, vgg.PruneRate, vgg.Exclude.Single(), vgg.Recipe.Optimizer, vgg.Recipe.Epochs), Is.EqualTo((true, 0.2, "fc", "sgd", 160)));

        foreach (var (model, lr, epochs, conv) in new[] { ("conv2", 2e-4f, 27, 0.1), ("conv4", 3e-4f, 34, 0.1), ("conv6", 3e-4f, 40, 0.15) })
        {
            var c = LotteryRecipes.For(model);
            Assert.That((c.Recipe.Optimizer, c.Recipe.LearningRate, c.Recipe.BatchSize, c.Recipe.Epochs, c.Recipe.Init), Is.EqualTo(("adam", lr, 60, epochs, InitScheme.GlorotNormal)), model);
            Assert.That((c.Global, c.ConvPruneRate, c.FcPruneRate ?? c.PruneRate, c.OutputPruneRate), Is.EqualTo((false, (double?)conv, 0.2, 0.1)), model);

            // Frankle and Carbin's iterations at batch 60 on CIFAR-10's 45,000 training images, rounded up to whole epochs.
            Assert.That(c.Recipe.Epochs * c.Recipe.IterationsPerEpoch(45_000), Is.GreaterThanOrEqualTo(model switch { "conv2" => 20_000, "conv4" => 25_000, _ => 30_000 }).And.LessThan((model switch { "conv2" => 20_000, "conv4" => 25_000, _ => 30_000 }) + 750));
        }

        foreach (string name in ModelZoo.Names.Append("resnet20_64"))
        {
            Assert.DoesNotThrow(() => LotteryRecipes.For(name).Validate(), name);
        }

        Assert.Throws<SettingsException>(() => ModelRecipes.For("resnet21"));
    }

    [Test]
    public void EpochMilestones_BecomeIterations_OnceTheEpochLengthIsKnown()
    {
        var recipe = ModelRecipes.For("resnet20");

        // CIFAR-10 with 5,000 held out: 45,000 / 128 → 352 batches per epoch (the last one smaller).
        Assert.That(recipe.IterationsPerEpoch(45_000), Is.EqualTo(352));
        Assert.That(recipe.MilestoneIterations(352), Is.EqualTo(new[] { 80 * 352, 120 * 352 }));
        var schedule = recipe.CreateSchedule(352);
        Assert.That(schedule.RateAt(0), Is.EqualTo(0.1f));
        Assert.That(schedule.RateAt(100 * 352), Is.EqualTo(0.1f * 0.1f).Within(1e-7f));
        Assert.That(schedule.RateAt(150 * 352), Is.EqualTo(0.1f * 0.1f * 0.1f).Within(1e-8f));
        var ex = Assert.Throws<InvalidOperationException>(() => recipe.CreateSchedule());
        Assert.That(ex!.Message, Does.Contain("80,120"));

        var both = Assert.Throws<SettingsException>(() => (recipe with { LrMilestones = [5] }).Validate());
        Assert.That(both!.Message, Does.Contain("both"));
    }

    [Test]
    public void PrunableLayers_FindNestedConvolutions_NeverBatchNormOrBiases()
    {
        var model = ModelZoo.Build("resnet20", [3, 32, 32], 10);
        var kinds = PrunableLayers.Kinds(model);
        Assert.That(kinds, Has.Count.EqualTo(1 + 18 + 2 + 1));
        Assert.That(kinds.Select(k => k.Name), Does.Contain("blocks.3.shortcut.0.weight").And.Contain("blocks.8.conv2.weight"));
        Assert.That(kinds.Select(k => k.Name), Has.None.Contains("bn").And.None.Contains("bias").And.None.Contains("shortcut.1"));
        Assert.That(kinds.Where(k => k.Kind == LayerKind.Linear).Select(k => k.Name), Is.EqualTo(new[] { "fc.weight" }));
        Assert.That(kinds[^1].Name, Is.EqualTo("fc.weight"), "the output layer is the last prunable one");

        var found = PrunableLayers.Find(model, ["fc", "blocks.3.shortcut.0.weight"]);
        Assert.That(found, Has.Count.EqualTo(20));
        var vgg = PrunableLayers.Kinds(ModelZoo.Build("vgg11", [3, 32, 32], 10));
        Assert.That(vgg.Count(k => k.Kind == LayerKind.Conv2d), Is.EqualTo(8));
        Assert.That(vgg[0].Name, Is.EqualTo("layers.0.conv.weight"));
    }

    private LotteryConfig Tiny(string model) => LotteryRecipes.For(model) with
    {
        Recipe = ModelRecipes.For(model) with { Data = Path.Combine(_dir, "data"), Epochs = 1, BatchSize = 16, ValidationSize = 16 },
        Levels = 2,
        Branches = [],
        EvalEvery = 5,
    };

    private static Dictionary<string, int> KeptAtLevel1(string run) =>
        SafeTensors.Read(Path.Combine(run, "replicate_0", "level_01", "lottery", "mask.safetensors")).Tensors
            .ToDictionary(kv => kv.Key, kv => kv.Value.Data.Count(v => v != 0f), StringComparer.Ordinal);

    [Test]
    public void Layerwise_GivesConvolutionsFullyConnectedAndOutputLayersTheirOwnRates()
    {
        string run = Path.Combine(_dir, "conv2");
        new LotteryExperiment(Tiny("conv2") with { FcPruneRate = 0.3 }, run).Run(1);

        // conv2 on 1×4×3 images: one 2×2 pool leaves 2×1, so fc1 reads 64·2 = 128 features.
        static int After(int n, double rate) => n - (int)Math.Round(rate * n, MidpointRounding.AwayFromZero);
        var kept = KeptAtLevel1(run);
        Assert.That(kept["conv1.weight"], Is.EqualTo(After(64 * 9, 0.1)));
        Assert.That(kept["conv2.weight"], Is.EqualTo(After(64 * 64 * 9, 0.1)));
        Assert.That(kept["fc1.weight"], Is.EqualTo(After(256 * 128, 0.3)));
        Assert.That(kept["fc2.weight"], Is.EqualTo(After(256 * 256, 0.3)));
        Assert.That(kept["fc3.weight"], Is.EqualTo(After(10 * 256, 0.1)));
    }

    [Test]
    public void Global_OnAResNet_PrunesConvolutionsAndShortcutsTogether_LeavingExcludedLayersAndBatchNormAlone()
    {
        string run = Path.Combine(_dir, "resnet");
        new LotteryExperiment(Tiny("resnet8_2") with { Exclude = ["fc"] }, run).Run(1);
        var kept = KeptAtLevel1(run);
        var model = ModelZoo.Build("resnet8_2", [1, 4, 3], 10);
        var sizes = PrunableLayers.Find(model, ["fc"]).ToDictionary(l => l.Name, l => l.Parameter.Size);
        Assert.That(kept.Keys, Is.EquivalentTo(sizes.Keys), "the mask covers every convolution, shortcuts included, and nothing else");
        int total = sizes.Values.Sum();
        Assert.That(kept.Values.Sum(), Is.EqualTo(total - (int)Math.Round(0.2 * total, MidpointRounding.AwayFromZero)));
    }

    [Test]
    public void APlanThatEmptiesALayer_NamesTheOptionThatSetsItsRate()
    {
        var conv = Assert.Throws<SettingsException>(() => new LotteryExperiment(Tiny("conv2") with { ConvPruneRate = 0.9, Levels = 5 }, Path.Combine(_dir, "a")).Run(1));
        Assert.That(conv!.Message, Does.Contain("conv1.weight").And.Contain("lower --conv-prune-rate"));
        var fc = Assert.Throws<SettingsException>(() => new LotteryExperiment(Tiny("conv2") with { PruneRate = 0.9, ConvPruneRate = null, Levels = 5 }, Path.Combine(_dir, "b")).Run(1));
        Assert.That(fc!.Message, Does.Contain("conv1.weight").And.Contain("lower --prune-rate (or --conv-prune-rate)"));
        var output = Assert.Throws<SettingsException>(() => new LotteryExperiment(Tiny("conv2") with { OutputPruneRate = 0.9, Levels = 5 }, Path.Combine(_dir, "c")).Run(1));
        Assert.That(output!.Message, Does.Contain("fc3.weight").And.Contain("lower --output-prune-rate"));
    }

    [Test]
    public void PerTypeRates_AreRefusedWithGlobalPruning_AndOutOfRange()
    {
        var ex = Assert.Throws<SettingsException>(() => (LotteryRecipes.For("resnet20") with { ConvPruneRate = 0.1 }).Validate());
        Assert.That(ex!.Message, Does.Contain("--conv-prune-rate").And.Contain("global"));
        ex = Assert.Throws<SettingsException>(() => new LotteryConfig { FcPruneRate = 1.5 }.Validate());
        Assert.That(ex!.Message, Does.Contain("fc prune rate").And.Contain("1.5"));
    }
}
