using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Tests.Pruning;

/// <summary>SNIP, GraSP and SynFlow scores against golden values computed with PyTorch (see Fixtures/README.md).</summary>
public class PruningFixtureTests
{
    private static readonly string[] Layers = ["fc1.weight", "fc2.weight", "fc3.weight"];
    private Dictionary<string, SafeTensor> _golden = null!;
    private Module _model = null!;
    private IReadOnlyList<(string Name, Parameter Parameter)> _layers = null!;
    private Tensor _x = null!;
    private int[] _y = null!;

    [SetUp]
    public void SetUp()
    {
        _golden = SafeTensors.Read(Path.Combine(TestContext.CurrentContext.TestDirectory, "Pruning", "Fixtures", "pruning_scores.safetensors")).Tensors;
        _model = new Sequential(("fc1", new Linear(12, 10)), ("relu1", new ReLU()), ("fc2", new Linear(10, 8)), ("relu2", new ReLU()), ("fc3", new Linear(8, 4)));
        _model.LoadStateDict(_model.StateDict().Keys.ToDictionary(k => k, k => Tensor.FromArray(_golden[k].Data, _golden[k].Shape)));
        _layers = PrunableLayers.Find(_model);
        _x = Tensor.FromArray(_golden["input"].Data, _golden["input"].Shape);
        _y = _golden["labels"].Data.Select(v => (int)v).ToArray();
    }

    // Relative error ≤ 1e-4: per element against the element, with elements far below the tensor's
    // largest judged against 1% of that largest value (their own size is float32 rounding noise).
    private void AssertMatches(string prefix, IReadOnlyDictionary<string, float[]> actual)
    {
        foreach (string layer in Layers)
        {
            var expected = _golden[$"{prefix}.{layer}"].Data;
            var got = actual[layer];
            Assert.That(got, Has.Length.EqualTo(expected.Length));
            float scale = expected.Max(MathF.Abs);
            Assert.That(scale, Is.GreaterThan(0f), $"{prefix}.{layer} is all zeros: the comparison would mean nothing");
            for (int i = 0; i < expected.Length; i++)
            {
                float tolerance = 1e-4f * Math.Max(Math.Abs(expected[i]), 0.01f * scale);
                Assert.That(got[i], Is.EqualTo(expected[i]).Within(tolerance), $"{prefix}.{layer}[{i}]");
            }
        }
    }

    [Test]
    public void Snip_MatchesPyTorch() => AssertMatches("snip", InitScores.Snip(_model, _layers, _x, _y));

    [Test]
    public void Grasp_GradientHgAndScore_MatchPyTorch()
    {
        var grasp = InitScores.Grasp(_model, _layers, [(_x.Narrow(0, 0, 4), _y[..4]), (_x.Narrow(0, 4, 4), _y[4..])], _golden["grasp.temperature"].Data[0]);
        AssertMatches("grasp.g", grasp.G);
        AssertMatches("grasp.hg", grasp.Hg);
        AssertMatches("grasp.score", grasp.Score);
    }

    [Test]
    public void SynFlow_MatchesPyTorch_AndRestoresTheModel()
    {
        var before = _model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        AssertMatches("synflow", InitScores.SynFlow(_model, _layers, [12]));
        foreach (var (name, values) in _model.StateDict())
        {
            Assert.That(values.ToArray(), Is.EqualTo(before[name]), name);
        }
    }
}
