using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Nn;

public class ModuleTests
{
    [Test]
    public void LeNet_StateDict_HasNamedParametersInOrder()
    {
        var model = ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.GlorotNormal, 1);
        Assert.That(model.StateDict().Keys, Is.EqualTo(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" }));
        Assert.That(model.NamedParameters().Select(p => p.Parameter.Size).Sum(), Is.EqualTo((784 * 300) + 300 + (300 * 100) + 100 + (100 * 10) + 10));
        var y = model.Forward(Tensor.Zeros(5, 1, 28, 28));
        Assert.That(y.Shape, Is.EqualTo(new[] { 5, 10 }));
    }

    [TestCase("conv2", 4_300_992, new[] { "conv1", "conv2", "fc1", "fc2", "fc3" })]
    [TestCase("conv4", 2_425_024, new[] { "conv1", "conv2", "conv3", "conv4", "fc1", "fc2", "fc3" })]
    [TestCase("conv6", 2_261_184, new[] { "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "fc1", "fc2", "fc3" })]
    public void ConvNets_OnCifarShapes_HaveThePublishedArchitecture(string name, int weights, string[] layers)
    {
        // Weights without biases, as Frankle and Carbin (2019, Figure 2) count them: 4.3M and 2.4M for Conv-2 and
        // Conv-4. Their table gives Conv-6 1.7M, but the architecture it describes (64-64, 128-128, 256-256 with three
        // pools, then 256-256-10) has 1.14M conv and 1.12M dense weights, 2.26M in all.
        var model = ModelZoo.Create(name, [3, 32, 32], 10, InitScheme.GlorotNormal, 1);
        var named = model.NamedParameters().ToList();
        Assert.That(named.Where(p => p.Name.EndsWith(".weight", StringComparison.Ordinal)).Sum(p => p.Parameter.Size), Is.EqualTo(weights));
        Assert.That(named.Where(p => p.Name.EndsWith(".weight", StringComparison.Ordinal)).Select(p => p.Name[..p.Name.IndexOf('.', StringComparison.Ordinal)]), Is.EqualTo(layers));
        Assert.That(model.Forward(Tensor.Zeros(2, 3, 32, 32)).Shape, Is.EqualTo(new[] { 2, 10 }));
    }

    [Test]
    public void LoadStateDict_ReportsMissingAndUnexpectedKeys()
    {
        var model = ModelZoo.LeNet300100(12, 3);
        var state = model.StateDict();
        state.Remove("fc2.bias");
        state["extra.weight"] = Tensor.Zeros(2);

        var ex = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state, strict: true));
        Assert.That(ex!.Message, Does.Contain("fc2.bias").And.Contain("extra.weight"));

        var (missing, unexpected) = model.LoadStateDict(state, strict: false);
        Assert.That(missing, Is.EqualTo(new[] { "fc2.bias" }));
        Assert.That(unexpected, Is.EqualTo(new[] { "extra.weight" }));
    }

    [Test]
    public void LoadStateDict_CopiesValues_AndRejectsShapeMismatch()
    {
        var a = ModelZoo.Create("lenet_300_100", [12], 3, InitScheme.GlorotNormal, 1);
        var b = ModelZoo.Create("lenet_300_100", [12], 3, InitScheme.GlorotNormal, 2);
        Assert.That(a.StateDict()["fc1.weight"].ToArray(), Is.Not.EqualTo(b.StateDict()["fc1.weight"].ToArray()));
        b.LoadStateDict(a.StateDict());
        Assert.That(a.StateDict()["fc1.weight"].ToArray(), Is.EqualTo(b.StateDict()["fc1.weight"].ToArray()));

        var state = a.StateDict();
        state["fc3.bias"] = Tensor.Zeros(4);
        var ex = Assert.Throws<ArgumentException>(() => b.LoadStateDict(state));
        Assert.That(ex!.Message, Does.Contain("fc3.bias").And.Contain("[4]").And.Contain("[3]"));
    }

    [Test]
    public void Initializer_SameSeedSameWeights_AndGlorotVariance()
    {
        var a = ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.GlorotNormal, 42);
        var b = ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.GlorotNormal, 42);
        var w = a.StateDict()["fc1.weight"].ToArray();
        Assert.That(w, Is.EqualTo(b.StateDict()["fc1.weight"].ToArray()));
        double mean = w.Average(), variance = w.Select(v => (v - mean) * (v - mean)).Average();
        Assert.That(mean, Is.EqualTo(0).Within(1e-3));
        Assert.That(variance, Is.EqualTo(2.0 / (784 + 300)).Within(0.03 * 2.0 / (784 + 300)));
        Assert.That(a.StateDict()["fc1.bias"].ToArray(), Is.All.EqualTo(0f));

        var k = ModelZoo.Create("lenet_300_100", [1, 28, 28], 10, InitScheme.KaimingNormal, 42).StateDict()["fc2.weight"].ToArray();
        double kv = k.Select(v => (double)v * v).Average();
        Assert.That(kv, Is.EqualTo(2.0 / 300).Within(0.05 * 2.0 / 300));
    }

    [Test]
    public void TrainEval_PropagatesToChildren()
    {
        var model = ModelZoo.LeNet300100(12, 3);
        model.Eval();
        Assert.That(model.NamedChildren().All(c => !c.Module.IsTraining), Is.True);
        model.Train();
        Assert.That(model.NamedChildren().All(c => c.Module.IsTraining), Is.True);
    }

    [Test]
    public void Linear_RejectsWrongInputWidth_NamingShapes()
    {
        var layer = new Linear(784, 300);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(60, 300)));
        Assert.That(ex!.Message, Does.Contain("[60,300]").And.Contain("784"));
    }

    [Test]
    public void BatchNorm_TrainNormalises_UpdatesRunningStats_EvalUsesThem()
    {
        var bn = new BatchNorm2d(2);
        var data = new float[4 * 2 * 3 * 3];
        var rng = new System.Random(3);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(rng.NextDouble() * 4) + ((i / 9 % 2) * 10);
        }

        var x = Tensor.FromArray(data, 4, 2, 3, 3);
        var y = bn.Forward(x).ToArray();
        for (int c = 0; c < 2; c++)
        {
            var values = Enumerable.Range(0, y.Length).Where(i => i / 9 % 2 == c).Select(i => (double)y[i]).ToArray();
            Assert.That(values.Average(), Is.EqualTo(0).Within(1e-5));
            Assert.That(values.Select(v => v * v).Average(), Is.EqualTo(1).Within(1e-3));
        }

        var channel1 = Enumerable.Range(0, data.Length).Where(i => i / 9 % 2 == 1).Select(i => (double)data[i]).ToArray();
        double m = channel1.Average();
        double unbiased = channel1.Select(v => (v - m) * (v - m)).Sum() / (channel1.Length - 1);
        Assert.That(bn.RunningMean.ToArray()[1], Is.EqualTo(0.1 * m).Within(1e-4));
        Assert.That(bn.RunningVar.ToArray()[1], Is.EqualTo(0.9 + (0.1 * unbiased)).Within(1e-4));

        bn.Eval();
        var e = bn.Forward(x).ToArray();
        float expected = (float)((data[9] - bn.RunningMean.ToArray()[1]) / Math.Sqrt(bn.RunningVar.ToArray()[1] + 1e-5));
        Assert.That(e[9], Is.EqualTo(expected).Within(1e-4));
    }

    [Test]
    public void Dropout_TrainDropsAndScales_EvalIsIdentity()
    {
        var dropout = new Dropout(0.25f, seed: 5);
        var x = Tensor.Ones(100, 100);
        var y = dropout.Forward(x).ToArray();
        double dropped = y.Count(v => v == 0f) / (double)y.Length;
        Assert.That(dropped, Is.EqualTo(0.25).Within(0.02));
        Assert.That(y.Where(v => v != 0f), Is.All.EqualTo(1f / 0.75f).Within(1e-6));
        dropout.Eval();
        Assert.That(dropout.Forward(x).ToArray(), Is.All.EqualTo(1f));
    }
}
