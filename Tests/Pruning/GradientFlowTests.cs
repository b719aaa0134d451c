using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Tests.Pruning;

public class GradientFlowTests
{
    private static Dataset? _mnist;

    private static Dataset Mnist => _mnist ??= DatasetCatalog.Load("mnist-10k").Train;

    private static Module LeNet() => ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.GlorotNormal, seed: 1);

    [Test]
    public void Ratios_OfAHandConstructedCase_AreExact()
    {
        // ‖g‖² = 4 + 4 + 4 + 4 + 16 = 32; m ⊙ g = (2, −2, 0, 0, 0, 0): ‖m⊙g‖² = ⟨g, m⊙g⟩ = 8.
        float[] g = [2, -2, 2, -2, 4, 0];
        float[] m = [1, 1, 0, 0, 0, 1];
        var (cosine, normRatio, predicted) = GradientFlow.Ratios(g, m);
        Assert.That(cosine, Is.EqualTo(0.5));
        Assert.That(normRatio, Is.EqualTo(0.5));
        Assert.That(predicted, Is.EqualTo(0.25));

        // A mask that keeps what carries no gradient and drops the rest passes nothing.
        var none = GradientFlow.Ratios(g, [0, 0, 0, 0, 0, 1]);
        Assert.That(none.NormRatio, Is.EqualTo(0));
        Assert.That(none.PredictedProgressRatio, Is.EqualTo(0));
        Assert.That(double.IsNaN(none.Cosine), Is.True, "the cosine with a zero vector is undefined");

        var ex = Assert.Throws<ArgumentException>(() => GradientFlow.Ratios(g, [1, 0]));
        Assert.That(ex!.Message, Does.Contain("6 gradient entries but 2 mask entries"));
    }

    [Test]
    public void AMaskOfAllOnes_GivesRatiosOfExactlyOne()
    {
        var model = LeNet();
        var measure = GradientFlow.Measure(model, MaskSet.Dense(PrunableLayers.Find(model)), GradientFlow.Batches(Mnist, 2, 60, seed: 3), step: 1e-3);
        Assert.That(measure.Cosine, Is.EqualTo(1.0));
        Assert.That(measure.NormRatio, Is.EqualTo(1.0));
        Assert.That(measure.PredictedProgressRatio, Is.EqualTo(1.0));
        Assert.That(measure.MeasuredProgressRatio, Is.EqualTo(1.0));
        Assert.That(measure.PrunableCosine, Is.EqualTo(1.0));
        Assert.That(measure.SparseStepLoss, Is.EqualTo(measure.DenseStepLoss));
        Assert.That(measure.DenseDecrease, Is.GreaterThan(0), "a small step down the gradient lowers the loss");
        Assert.That(measure.Examples, Is.EqualTo(120));
    }

    // The must-hold check: on LeNet-300-100 / MNIST-10k at θ₀, one SGD step of the masked network decreases the loss by
    // the fraction ⟨g, m⊙g⟩/‖g‖² of a dense step's decrease, within 10%, for a magnitude (IMP-like) and a random mask.
    [TestCase(0.2)]
    [TestCase(0.05)]
    public void OnLeNet_TheMeasuredOneStepProgressRatio_AgreesWithTheFirstOrderPrediction(double density)
    {
        var model = LeNet();
        var layers = PrunableLayers.Find(model);
        var scores = layers.ToDictionary(l => l.Name, l => l.Parameter.Value.ToArray().Select(MathF.Abs).ToArray(), StringComparer.Ordinal);
        var magnitude = MagnitudePruner.Layerwise(MaskSet.Dense(layers), scores, _ => 1 - density);
        var random = RandomMasks.SameDensity(magnitude, seed: 11);
        var batches = GradientFlow.Batches(Mnist, 5, 60, seed: 1);
        foreach (var mask in new[] { magnitude, random })
        {
            var m = GradientFlow.Measure(model, mask, batches, step: 1e-3);
            TestContext.Out.WriteLine($"density {mask.Density:0.000}: cos {m.Cosine:0.0000} (weights only {m.PrunableCosine:0.0000}), predicted {m.PredictedProgressRatio:0.0000}, measured {m.MeasuredProgressRatio:0.0000}");
            Assert.That(m.PredictedProgressRatio, Is.GreaterThan(0).And.LessThan(1));
            Assert.That(m.MeasuredProgressRatio / m.PredictedProgressRatio, Is.EqualTo(1).Within(0.1));

            // For a 0/1 mask ⟨g, m⊙g⟩ = ‖m⊙g‖², so the cosine is the norm ratio and the prediction its square.
            Assert.That(m.Cosine, Is.EqualTo(m.NormRatio).Within(1e-12));
            Assert.That(m.PredictedProgressRatio, Is.EqualTo(m.NormRatio * m.NormRatio).Within(1e-12));
        }
    }

    [Test]
    public void Measure_IsTheSameBitsEveryTime_AndLeavesTheModelAsItWas()
    {
        var model = LeNet();
        var layers = PrunableLayers.Find(model);
        var mask = RandomMasks.Uniform(MaskSet.Dense(layers), 0.3, seed: 5);
        mask.Apply(model);
        model.Eval(); // Measure switches to training mode for its batch statistics; it must switch back
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var attached = layers.Select(l => l.Parameter.Mask).ToArray();
        var batches = GradientFlow.Batches(Mnist, 2, 60, seed: 9);

        var first = GradientFlow.Measure(model, mask, batches, step: 1e-3);
        var second = GradientFlow.Measure(model, mask, batches, step: 1e-3);
        Assert.That(second, Is.EqualTo(first));
        foreach (var (name, tensor) in model.StateDict())
        {
            Assert.That(tensor.ToArray(), Is.EqualTo(before[name]), name);
        }

        Assert.That(layers.Select(l => l.Parameter.Mask), Is.EqualTo(attached));
        Assert.That(model.IsTraining, Is.False);
    }

    [Test]
    public void TheDenseGradient_IsTakenAtTheMaskedWeights_ForEveryWeight()
    {
        // Weights the mask prunes but the file still holds are zeroed before measuring: the same point as when they are zero.
        var model = LeNet();
        var layers = PrunableLayers.Find(model);
        var mask = RandomMasks.Uniform(MaskSet.Dense(layers), 0.5, seed: 2);
        var batches = GradientFlow.Batches(Mnist, 1, 60, seed: 4);
        var unmasked = GradientFlow.Measure(model, mask, batches, step: 1e-3);
        mask.Apply(model);
        var masked = GradientFlow.Measure(model, mask, batches, step: 1e-3);
        Assert.That(unmasked, Is.EqualTo(masked));

        // The pruned weights' gradient counts: half the weights pruned leave well under all of the gradient.
        Assert.That(masked.NormRatio, Is.LessThan(0.9));
    }

    [Test]
    public void BadSettings_AreRefused_NamingTheValues()
    {
        var model = LeNet();
        var mask = MaskSet.Dense(PrunableLayers.Find(model));
        var batches = GradientFlow.Batches(Mnist, 1, 10, seed: 1);
        Assert.That(Assert.Throws<SettingsException>(() => GradientFlow.Measure(model, mask, batches, step: 0))!.Message, Does.Contain("step size 0"));
        Assert.That(Assert.Throws<SettingsException>(() => GradientFlow.Batches(Mnist, 200, 60, seed: 1))!.Message, Does.Contain("200 batches of 60 examples need 12000").And.Contain($"the training set has {Mnist.Count}"));
        Assert.That(Assert.Throws<SettingsException>(() => new GradientFlowSettings { Batches = 0 }.Validate())!.Message, Does.Contain("--batches must be ≥ 1, got 0"));
        Assert.That(Assert.Throws<SettingsException>(() => new GradientFlowSettings { Step = double.NaN }.Validate())!.Message, Does.Contain("--step").And.Contain("NaN"));

        var other = new MaskSet([("fc9.weight", [2], new float[] { 1, 0 })]);
        Assert.That(Assert.Throws<ArgumentException>(() => GradientFlow.Measure(model, other, batches, step: 1e-3))!.Message, Does.Contain("fc9.weight"));
    }

    [Test]
    public void Batches_AreSeeded()
    {
        var a = GradientFlow.Batches(Mnist, 2, 30, seed: 1);
        var b = GradientFlow.Batches(Mnist, 2, 30, seed: 1);
        var c = GradientFlow.Batches(Mnist, 2, 30, seed: 2);
        Assert.That(a[1].Labels, Is.EqualTo(b[1].Labels));
        Assert.That(a[1].Inputs.ToArray(), Is.EqualTo(b[1].Inputs.ToArray()));
        Assert.That(a[0].Inputs.ToArray(), Is.Not.EqualTo(c[0].Inputs.ToArray()));
        Assert.That(a[0].Inputs.Shape, Is.EqualTo(new[] { 30, 1, 28, 28 }));
    }
}
