using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.Training;

namespace SparseNet.Tests.Engine;

public class TrainingSubsetTests
{
    // Example i has the single feature i and label i % 4, so a subset names the examples it kept.
    private static Dataset Numbered(int count, bool augmentByDefault = false) =>
        new(Enumerable.Range(0, count).Select(i => (float)i).ToArray(), Enumerable.Range(0, count).Select(i => i % 4).ToArray(), [1, 1, 1], 4)
        {
            BlackLevel = [-3f],
            AugmentByDefault = augmentByDefault,
        };

    [Test]
    public void Sample_IsAFixedSeededSubset_InOriginalOrder_NestedAcrossSizes()
    {
        Dataset data = Numbered(500);
        Dataset a = data.Sample(60, seed: 4);
        Assert.That(a.Count, Is.EqualTo(60));
        Assert.That(a.Features, Is.Ordered.Ascending);
        Assert.That(a.Features.Distinct().Count(), Is.EqualTo(60));
        Assert.That(a.Labels, Is.EqualTo(a.Features.Select(f => (int)f % 4)));
        Assert.That(data.Sample(60, seed: 4).Features, Is.EqualTo(a.Features));
        Assert.That(data.Sample(60, seed: 5).Features, Is.Not.EqualTo(a.Features));
        Assert.That(data.Sample(200, seed: 4).Features, Is.SupersetOf(a.Features));
        Assert.That(data.Sample(500, seed: 4).Features, Is.EqualTo(data.Features));

        // Not simply the first examples, and spread over the whole set.
        Assert.That(a.Features.Max(), Is.GreaterThan(400f));
        Assert.That(a.Features.Min(), Is.LessThan(100f));
    }

    [Test]
    public void Sample_AndSplit_KeepTheBlackLevelAndTheAugmentationDefault()
    {
        Dataset data = Numbered(50, augmentByDefault: true);
        foreach (Dataset part in new[] { data.Sample(10, 1), data.Split(5, 1).Remaining, data.Split(5, 1).HeldOut, data.Subset([3, 1]) })
        {
            Assert.That((part.AugmentByDefault, part.BlackLevel.Single()), Is.EqualTo((true, -3f)));
        }
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(51)]
    public void Sample_OutOfRange_NamesTheNumbers(int count)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(50).Sample(count, 1));
        Assert.That(e!.Message, Does.Contain($"cannot keep {count} of 50 examples"));
    }

    [Test]
    public void Recipe_TrainExamples_ZeroKeepsAll_ElseASubsetOfThatSize()
    {
        Dataset data = Numbered(100);
        Assert.That(new TrainingRecipe().SelectTrainExamples(data, 1), Is.SameAs(data));
        Dataset subset = new TrainingRecipe { TrainExamples = 30 }.SelectTrainExamples(data, 9);
        Assert.That(subset.Features, Is.EqualTo(data.Sample(30, 9).Features));
    }

    [Test]
    public void Recipe_TrainExamples_BeyondTheData_NamesTheNumbersAndTheData()
    {
        var recipe = new TrainingRecipe { Data = "fashion-mnist", TrainExamples = 101, ValidationSize = 20 };
        var e = Assert.Throws<SettingsException>(() => recipe.SelectTrainExamples(Numbered(100), 1));
        Assert.That(e!.Message, Does.Contain("train examples 101").And.Contain("100 training examples of 'fashion-mnist' left after holding out 20 for validation"));
        var bad = Assert.Throws<SettingsException>(() => new TrainingRecipe { TrainExamples = -5 }.Validate());
        Assert.That(bad!.Message, Does.Contain("-5"));
    }

    [Test]
    public void Recipe_Augmentation_FollowsTheDataUnlessTold()
    {
        Dataset plain = Numbered(10), cifarLike = Numbered(10, augmentByDefault: true);
        Assert.That(new TrainingRecipe().AugmentationFor(plain), Is.Null);
        Assert.That(new TrainingRecipe().AugmentationFor(cifarLike)!.PadValues, Is.EqualTo(Values.Of(-3f)));
        Assert.That(new TrainingRecipe { Augment = false }.AugmentationFor(cifarLike), Is.Null);
        Assert.That(new TrainingRecipe { Augment = true }.AugmentationFor(plain), Is.Not.Null);
    }
}
