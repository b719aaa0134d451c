using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;

namespace SparseNet.Tests.Pruning;

public class MaskedTrainingTests
{
    [TestCase("adam")]
    [TestCase("sgd")]
    public void MaskedWeights_TheirGradients_AndOptimizerState_StayZero(string optimizerName)
    {
        var model = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 4);
        var layers = PrunableLayers.Find(model);
        var rng = new System.Random(2);
        var masks = new MaskSet(layers.Select(l => (l.Name, (int[])l.Parameter.Shape.Clone(), Enumerable.Range(0, l.Parameter.Size).Select(_ => rng.NextDouble() < 0.5 ? 0f : 1f).ToArray())));
        masks.Apply(model);
        Optimizer optimizer = optimizerName == "adam" ? new Adam(model.Parameters(), 1e-2f, weightDecay: 1e-3f) : new Sgd(model.Parameters(), 1e-2f, 0.9f, weightDecay: 1e-3f);
        var x = Tensor.FromArray(Enumerable.Range(0, 8 * 6).Select(i => (float)Math.Sin(i)).ToArray(), 8, 6);
        int[] y = [0, 1, 2, 0, 1, 2, 0, 1];
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            Gradients.Backward(Tensor.SoftmaxCrossEntropy(model.Forward(x), y));
            optimizer.Step();
        }

        var parameters = model.Parameters().ToList();
        foreach (var (name, p) in layers)
        {
            var m = masks[name];
            var w = p.Value.ToArray();
            var g = p.Grad!.ToArray();
            int index = parameters.IndexOf(p);
            for (int i = 0; i < m.Length; i++)
            {
                if (m[i] == 0f)
                {
                    Assert.That(w[i], Is.EqualTo(0f), $"{name} weight {i}");
                    Assert.That(g[i], Is.EqualTo(0f), $"{name} gradient {i}");
                    if (optimizer is Adam adam)
                    {
                        Assert.That(adam.FirstMoment(index)![i], Is.EqualTo(0f));
                        Assert.That(adam.SecondMoment(index)![i], Is.EqualTo(0f));
                    }
                }
            }

            Assert.That(w.Where((v, i) => m[i] != 0f).Any(v => v != 0f), Is.True, "kept weights train");
        }
    }

    [Test]
    public void PrunableLayers_AreLinearAndConvWeights_WithExclusions()
    {
        var model = ModelZoo.Create("conv2", [1, 8, 8], 10, InitScheme.GlorotNormal, 1);
        Assert.That(PrunableLayers.Find(model).Select(p => p.Name), Is.EqualTo(new[] { "conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight" }));
        Assert.That(PrunableLayers.Find(model, ["fc3", "conv1.weight"]).Select(p => p.Name), Is.EqualTo(new[] { "conv2.weight", "fc1.weight", "fc2.weight" }));
        var ex = Assert.Throws<SparseNet.Engine.SettingsException>(() => PrunableLayers.Find(model, ["fc9"]));
        Assert.That(ex!.Message, Does.Contain("fc9").And.Contain("conv1"));
    }
}
