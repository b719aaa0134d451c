using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Tests.Pruning;

public class InitPrunerTests
{
    private static (Module Model, IReadOnlyList<(string Name, Parameter Parameter)> Layers, InitPruneData Data) Setup(int seed = 3, bool smooth = false)
    {
        // The smooth variant (tanh) has no kinks, so finite differences of its gradient are meaningful.
        var model = smooth
            ? new Sequential(("fc1", new Linear(12, 10)), ("act1", new Tanh()), ("fc2", new Linear(10, 8)), ("act2", new Tanh()), ("fc3", new Linear(8, 4)))
            : ModelZoo.Create("lenet_300_100", [12], 4, InitScheme.GlorotNormal, (ulong)seed);
        Initializer.Initialize(model, InitScheme.GlorotNormal, (ulong)seed);
        var rng = new System.Random(seed);
        Tensor X(int n) => Tensor.FromArray(Enumerable.Range(0, n * 12).Select(_ => (float)rng.NextDouble()).ToArray(), n, 12);
        int[] Y(int n) => Enumerable.Range(0, n).Select(i => i % 4).ToArray();
        var data = new InitPruneData(X(16), Y(16), [(X(8), Y(8)), (X(8), Y(8))], [12]);
        return (model, PrunableLayers.Find(model), data);
    }

    [TestCase("snip", 1)]
    [TestCase("grasp", 1)]
    [TestCase("synflow", 5)]
    [TestCase("magnitude", 1)]
    [TestCase("random", 1)]
    [TestCase("snip", 4)]
    public void Prune_KeepsExactlyTheRequestedCount_AndLeavesTheModelAsItWas(string method, int iterations)
    {
        var (model, layers, data) = Setup();
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var mask = InitPruner.Prune(method, model, layers, 0.9, iterations, data, seed: 5);
        long total = layers.Sum(l => (long)l.Parameter.Size);
        Assert.That(mask.KeptCount, Is.EqualTo((long)Math.Round(0.1 * total, MidpointRounding.AwayFromZero)).Within(method == "random" ? 2 : 0));
        foreach (var (name, values) in model.StateDict())
        {
            Assert.That(values.ToArray(), Is.EqualTo(before[name]), name);
        }

        Assert.That(layers.All(l => l.Parameter.Mask is null), Is.True);
        var again = InitPruner.Prune(method, model, layers, 0.9, iterations, data, seed: 5);
        Assert.That(again["fc1.weight"], Is.EqualTo(mask["fc1.weight"]), "deterministic");
    }

    [Test]
    public void Invert_KeepsWhatTheMethodWouldPrune()
    {
        var (model, layers, data) = Setup();
        var mask = InitPruner.Prune("magnitude", model, layers, 0.5, 1, data, 1);
        var inverted = InitPruner.Prune("magnitude", model, layers, 0.5, 1, data, 1, invert: true);
        var w = layers[0].Parameter.Value.ToArray().Select(MathF.Abs).ToArray();
        double keptMean = w.Where((_, i) => mask["fc1.weight"][i] != 0f).Average();
        double invertedMean = w.Where((_, i) => inverted["fc1.weight"][i] != 0f).Average();
        Assert.That(keptMean, Is.GreaterThan(invertedMean));
        Assert.Throws<ArgumentException>(() => InitPruner.Prune("random", model, layers, 0.5, 1, data, 1, invert: true));
    }

    [Test]
    public void Iterative_RescoresTheMaskedNetwork_AndDiffersFromOneShot()
    {
        var (model, layers, data) = Setup();
        var once = InitPruner.Prune("snip", model, layers, 0.95, 1, data, 1);
        var steps = InitPruner.Prune("snip", model, layers, 0.95, 5, data, 1);
        Assert.That(steps.KeptCount, Is.EqualTo(once.KeptCount));
        Assert.That(steps["fc1.weight"], Is.Not.EqualTo(once["fc1.weight"]));
    }

    [Test]
    public void GraspHg_MatchesACentralFiniteDifferenceOfGradients()
    {
        var (model, layers, data) = Setup(7, smooth: true);
        var weights = layers.Select(l => l.Parameter.Value).ToArray();
        // Temperature 1 keeps Hg well above float32 noise; the rule is the same at any temperature.
        var grasp = InitScores.Grasp(model, layers, data.GraspParts, temperature: 1f);

        // Σ_parts ∇L_part at θ + εg and θ − εg, with g the summed gradient GraSP used.
        var original = weights.Select(w => w.ToArray()).ToArray();
        float[][] GradAt(double step)
        {
            for (int i = 0; i < weights.Length; i++)
            {
                var g = grasp.G[layers[i].Name];
                weights[i].CopyFrom(Tensor.FromArray(original[i].Select((v, j) => (float)(v + (step * g[j]))).ToArray(), weights[i].Shape));
            }

            var sum = weights.Select(w => new float[w.Size]).ToArray();
            foreach (var (x, y) in data.GraspParts)
            {
                var grads = Gradients.Grad([Tensor.SoftmaxCrossEntropy(model.Forward(x), y)], weights);
                for (int i = 0; i < sum.Length; i++)
                {
                    var gi = grads[i]!.ToArray();
                    for (int j = 0; j < gi.Length; j++)
                    {
                        sum[i][j] += gi[j];
                    }
                }
            }

            return sum;
        }

        double norm = Math.Sqrt(grasp.G.Values.Sum(g => g.Sum(v => (double)v * v)));
        double eps = 2e-2 / norm;
        var plus = GradAt(eps);
        var minus = GradAt(-eps);
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i].CopyFrom(Tensor.FromArray(original[i], weights[i].Shape));
        }

        double maxHg = grasp.Hg.Values.Max(h => h.Max(v => Math.Abs(v)));
        Assert.That(maxHg, Is.GreaterThan(0));
        for (int i = 0; i < weights.Length; i++)
        {
            var hg = grasp.Hg[layers[i].Name];
            for (int j = 0; j < hg.Length; j++)
            {
                double fd = (plus[i][j] - minus[i][j]) / (2 * eps);
                Assert.That(hg[j], Is.EqualTo(fd).Within(2e-3 * maxHg), $"{layers[i].Name}[{j}]");
            }
        }
    }
}
