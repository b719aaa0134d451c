using SparseNet.Engine;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

public class TrainingDataSettingsTests
{
    [Test]
    public void TrainExamplesAndAugment_EnterTheRunsNameOnlyWhenSet()
    {
        var defaults = new LotteryConfig();
        Assert.That(new LotteryConfig { Recipe = new TrainingRecipe { ValidationSize = 1000, TrainExamples = 0, Augment = null } }.Hash("sha256:00"), Is.EqualTo(defaults.Hash("sha256:00")));

        var subset = new LotteryConfig { Recipe = new TrainingRecipe { ValidationSize = 1000, TrainExamples = 5000 } };
        Assert.That(subset.NonDefaultSettings().Single(), Is.EqualTo(KeyValuePair.Create("train_examples", "5000")));
        Assert.That(subset.Hash("sha256:00"), Is.Not.EqualTo(defaults.Hash("sha256:00")));

        var on = new LotteryConfig { Recipe = new TrainingRecipe { ValidationSize = 1000, Augment = true } };
        var off = new LotteryConfig { Recipe = new TrainingRecipe { ValidationSize = 1000, Augment = false } };
        Assert.That(on.NonDefaultSettings().Single(), Is.EqualTo(KeyValuePair.Create("augment", "true")));
        Assert.That(off.NonDefaultSettings().Single(), Is.EqualTo(KeyValuePair.Create("augment", "false")));
        Assert.That(new[] { on.Hash("sha256:00"), off.Hash("sha256:00"), defaults.Hash("sha256:00") }, Is.Unique);

        Assert.That(defaults.ToJson("sha256:00"), Does.Contain("\"train_examples\": \"0\"").And.Contain("\"augment\": \"default\""));
    }

    [Test]
    public void TheExperimentsTrainOnTheSubset_AfterTheValidationHoldOut()
    {
        var recipe = new TrainingRecipe { ValidationSize = 1000, TrainExamples = 300 };
        var context = new ExperimentContext(recipe, evalEvery: 10, dataSeed: 3);
        Assert.That((context.Train.Count, context.Validation.Count, context.Test.Count), Is.EqualTo((300, 1000, 2000)));
        Assert.That(context.Augmentation, Is.Null, "mnist-10k is not augmented by default");
        Assert.That(context.IterationsPerUnit, Is.EqualTo(20 * 5));

        var again = new ExperimentContext(recipe, 10, dataSeed: 3);
        Assert.That(again.Train.Features, Is.EqualTo(context.Train.Features));
        var held = new ExperimentContext(recipe with { TrainExamples = 0 }, 10, dataSeed: 3);
        Assert.That(held.Validation.Features, Is.EqualTo(context.Validation.Features), "the subset is drawn after the hold-out and leaves it alone");

        var tooMany = Assert.Throws<SettingsException>(() => _ = new ExperimentContext(recipe with { TrainExamples = 7001 }, 10, 3));
        Assert.That(tooMany!.Message, Does.Contain("train examples 7001").And.Contain("7000 training examples of 'mnist-10k'"));
    }

    [Test]
    public void OnCifar10_TheExperimentsAugmentUnlessToldNot()
    {
        string dir = Directory.CreateTempSubdirectory("sparsenet-cifar-context-").FullName;
        try
        {
            Cifar10TestFiles.WriteDataset(dir, perFile: 4, testCount: 3);
            var recipe = new TrainingRecipe { Data = dir, ValidationSize = 5 };
            var context = new ExperimentContext(recipe, 10, dataSeed: 1);
            Assert.That(context.Augmentation!.ImageShape, Is.EqualTo(Values.Of(3, 32, 32)));
            Assert.That(context.Augmentation.PadValues[0], Is.EqualTo(-0.485f / 0.229f).Within(1e-6f));
            Assert.That(new ExperimentContext(recipe with { Augment = false }, 10, 1).Augmentation, Is.Null);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
