using SparseNet.Engine;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;
using SparseNet.Reporting;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class SupermaskTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-supermask-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 160, test: 40, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // 128 training examples (4×3 images) at batch 16: 8 iterations an epoch, 16 in all.
    private SupermaskConfig Config(SupermaskWeights weights = SupermaskWeights.SignedConstant, int epochs = 2) => new()
    {
        Training = new LotteryConfig
        {
            Recipe = SupermaskConfig.RecipeFor("lenet_300_100") with { Data = Path.Combine(_dir, "data"), Epochs = epochs, BatchSize = 16, ValidationSize = 32, LearningRate = 0.05f },
            EvalEvery = 4,
            Seed = 3,
            Levels = 1,
            Branches = [],
        },
        Density = 0.3,
        Weights = weights,
    };

    private static Dictionary<string, byte[]> Files(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != UnitTime.FileName)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes, StringComparer.Ordinal);

    private static Sequential TinyNetwork(ulong seed)
    {
        var model = new Sequential(("0", new Linear(6, 7)), ("1", new ReLU()), ("2", new Linear(7, 3)));
        Initializer.Initialize(model, InitScheme.KaimingNormal, seed);
        return model;
    }

    [Test]
    public void TopK_KeepsExactlyK_ByMagnitude_TiesToTheLowerIndex()
    {
        float[] scores = [0.5f, -0.5f, 0.2f, 0.5f, -0.1f, -0.7f];
        Assert.That(TopKMask.Keep(scores, 1), Is.EqualTo(new[] { 0f, 0f, 0f, 0f, 0f, 1f }), "|−0.7| is the largest");
        Assert.That(TopKMask.Keep(scores, 2), Is.EqualTo(new[] { 1f, 0f, 0f, 0f, 0f, 1f }), "of the three |0.5|, the lowest index first");
        Assert.That(TopKMask.Keep(scores, 3), Is.EqualTo(new[] { 1f, 1f, 0f, 0f, 0f, 1f }));
        Assert.That(TopKMask.Keep(scores, 4), Is.EqualTo(new[] { 1f, 1f, 0f, 1f, 0f, 1f }));
        Assert.That(TopKMask.Keep(scores, 0), Is.All.Zero);
        Assert.That(TopKMask.Keep(scores, 6), Is.All.EqualTo(1f));
        Assert.That(TopKMask.Keep(new float[10], 4), Is.EqualTo(new[] { 1f, 1f, 1f, 1f, 0f, 0f, 0f, 0f, 0f, 0f }), "all tied: the first k");

        var nan = Assert.Throws<ArgumentException>(() => TopKMask.Keep([1f, float.NaN], 1));
        Assert.That(nan!.Message, Does.Contain("index 1"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopKMask.Keep(scores, 7))!.Message, Does.Contain("cannot keep 7 of 6"));

        // Large layers take the radix path of the selection: the count is still exact, with many ties.
        var rng = new Philox(9, 1);
        var big = new float[20_000];
        for (int i = 0; i < big.Length; i++)
        {
            big[i] = rng.NextInt(50) - 25;
        }

        foreach (int k in new[] { 1, 777, 10_000, 19_999 })
        {
            var mask = TopKMask.Keep(big, k);
            Assert.That(mask.Count(m => m == 1f), Is.EqualTo(k));
            float lowestKept = big.Where((_, i) => mask[i] == 1f).Min(MathF.Abs);
            Assert.That(big.Where((_, i) => mask[i] == 0f).All(v => MathF.Abs(v) <= lowestKept), Is.True, $"k={k}: nothing dropped beats a kept score");
            var tied = Enumerable.Range(0, big.Length).Where(i => MathF.Abs(big[i]) == lowestKept).ToList();
            var keptTied = tied.Where(i => mask[i] == 1f).ToList();
            Assert.That(keptTied, Is.EqualTo(tied.Take(keptTied.Count)), $"k={k}: tied scores are kept in index order");
        }
    }

    [Test]
    public void EdgePopup_KeepsRoundedDensityOfEveryLayer_AndWritesWeightTimesMask()
    {
        foreach (double density in new[] { 0.05, 0.3, 0.5, 1.0 })
        {
            var model = TinyNetwork(1);
            var before = ExperimentContextSnapshot(model);
            var popup = new EdgePopup(model, density, s => new Sgd(s, 0.1f), seed: 4);
            var mask = popup.Mask();
            foreach (var (name, weight) in PrunableLayers.Find(model))
            {
                int expected = (int)Math.Round(density * weight.Size, MidpointRounding.AwayFromZero);
                Assert.That(MaskSet.Kept(mask[name]), Is.EqualTo(expected), $"{name} at density {density}");
                var w = before[name];
                var m = mask[name];
                var actual = weight.Value.ToArray();
                for (int i = 0; i < actual.Length; i++)
                {
                    Assert.That(actual[i], Is.EqualTo(w[i] * m[i]));
                }
            }
        }

        var error = Assert.Throws<ArgumentException>(() => new EdgePopup(TinyNetwork(1), 0.01, s => new Sgd(s, 0.1f), 1));
        Assert.That(error!.Message, Does.Contain("keeps no weight of").And.Contain("0.weight"));
        Assert.That(Assert.Throws<ArgumentException>(() => new EdgePopup(TinyNetwork(1), 1.5, s => new Sgd(s, 0.1f), 1))!.Message, Does.Contain("density 1.5"));
    }

    [Test]
    public void StraightThroughGradient_IsTheEffectiveWeightsGradientTimesWeightTimesSignOfScore()
    {
        var model = TinyNetwork(2);
        var popup = new EdgePopup(model, 0.4, s => new Sgd(s, 0.5f), seed: 7);
        var rng = new Philox(11, 1);
        var xData = new float[5 * 6];
        rng.FillNormal(xData, 0f, 1f);
        int[] labels = [0, 2, 1, 1, 0];
        float Loss()
        {
            using var noGrad = GradMode.NoGrad();
            return Tensor.SoftmaxCrossEntropy(model.Forward(Tensor.FromArray(xData, 5, 6)), labels).Item();
        }

        popup.ZeroGrad();
        Gradients.Backward(Tensor.SoftmaxCrossEntropy(model.Forward(Tensor.FromArray(xData, 5, 6)), labels));
        var layers = PrunableLayers.Find(model);
        var mask = popup.Mask();
        var scoresBefore = popup.Scores.ToDictionary(s => s.Name, s => s.Scores.Value.ToArray());
        var frozen = popup.FrozenWeights.ToDictionary(f => f.Name, f => f.Weight.ToArray());
        var expected = new Dictionary<string, float[]>();
        bool prunedGetsGradient = false;
        foreach (var (name, weight) in layers)
        {
            var g = weight.Grad!.ToArray();

            // ∂L/∂(w ⊙ m) by central differences on the effective weight, kept and pruned positions alike.
            var values = weight.Value.ToArray();
            foreach (int i in new[] { 0, 3, values.Length - 1 })
            {
                const float h = 1e-3f;
                float original = values[i];
                values[i] = original + h;
                weight.Value.CopyFrom(Tensor.FromArray(values, weight.Shape));
                float up = Loss();
                values[i] = original - h;
                weight.Value.CopyFrom(Tensor.FromArray(values, weight.Shape));
                float down = Loss();
                values[i] = original;
                weight.Value.CopyFrom(Tensor.FromArray(values, weight.Shape));
                Assert.That(g[i], Is.EqualTo((up - down) / (2 * h)).Within(2e-3 + (0.02 * Math.Abs(g[i]))), $"{name}[{i}]");
            }

            var s = scoresBefore[name];
            var w = frozen[name];
            expected[name] = g.Select((gi, i) => gi * w[i] * MathF.Sign(s[i])).ToArray();
            prunedGetsGradient |= Enumerable.Range(0, g.Length).Any(i => mask[name][i] == 0f && expected[name][i] != 0f);
        }

        Assert.That(prunedGetsGradient, Is.True, "pruned weights' scores get a gradient too, so they can enter the mask");
        Assert.That(popup.LearningRate, Is.EqualTo(0.5f), "the score optimizer's rate until a schedule sets one");
        popup.Step();
        foreach (var (name, scores) in popup.Scores)
        {
            Assert.That(scores.Grad!.ToArray(), Is.EqualTo(expected[name]), $"{name}: ∂L/∂s = ∂L/∂(w⊙m)·w·sign(s)");
            var after = scores.Value.ToArray();
            for (int i = 0; i < after.Length; i++)
            {
                Assert.That(after[i], Is.EqualTo(scoresBefore[name][i] - (0.5f * expected[name][i])).Within(1e-6f), $"{name}[{i}] moved by plain SGD");
            }
        }
    }

    [Test]
    public void SignedConstant_IsPlusMinusKaimingStd_WithTheSignsOfTheNormalDraw()
    {
        var normal = SupermaskExperiment.FrozenNetwork("lenet_300_100", [1, 4, 3], 10, SupermaskWeights.KaimingNormal, 5);
        var signed = SupermaskExperiment.FrozenNetwork("lenet_300_100", [1, 4, 3], 10, SupermaskWeights.SignedConstant, 5);
        var normalLayers = PrunableLayers.Find(normal);
        foreach (var (name, weight) in PrunableLayers.Find(signed))
        {
            float sigma = MathF.Sqrt(2f / Initializer.Fans(weight.Shape).FanIn);
            var n = normalLayers.Single(l => l.Name == name).Parameter.Value.ToArray();
            var s = weight.Value.ToArray();
            for (int i = 0; i < s.Length; i++)
            {
                Assert.That(s[i], Is.EqualTo(n[i] < 0 ? -sigma : sigma), $"{name}[{i}]");
            }
        }
    }

    [Test]
    public void Training_LeavesTheFrozenWeightsAndBiasesBitIdentical_AndMovesOnlyTheScores()
    {
        var model = TinyNetwork(3);
        var start = ExperimentContextSnapshot(model);
        var popup = new EdgePopup(model, 0.5, s => new Adam(s, 0.05f), seed: 1);
        var scores0 = popup.Scores.Select(s => s.Scores.Value.ToArray()).ToList();
        var mask0 = popup.Mask();
        var data = new Dataset(Enumerable.Range(0, 48 * 6).Select(i => (float)Math.Sin(i)).ToArray(), Enumerable.Range(0, 48).Select(i => i % 3).ToArray(), [6], 3);
        var trainer = new Trainer(model, popup, LearningRateSchedule.Constant(0.05f), data, 8, 1);
        trainer.TrainTo(40);

        foreach (var (name, weight) in popup.FrozenWeights)
        {
            Assert.That(BitsOf(weight.ToArray()), Is.EqualTo(BitsOf(start[name])), $"{name}: the frozen weights are the initial ones, bit for bit");
        }

        var mask = popup.Mask();
        foreach (var (name, p) in model.NamedParameters())
        {
            var expected = mask.Names.Contains(name) ? start[name].Select((w, i) => w * mask[name][i]).ToArray() : start[name];
            Assert.That(BitsOf(p.Value.ToArray()), Is.EqualTo(BitsOf(expected)), $"{name}: the model holds w ⊙ m (biases untouched)");
        }

        Assert.That(popup.Scores.Select(s => s.Scores.Value.ToArray()), Is.Not.EqualTo(scores0), "the scores trained");
        Assert.That(mask.Entries.Select(e => e.Mask), Is.Not.EqualTo(mask0.Entries.Select(e => e.Mask)), "and the mask changed");
    }

    [Test]
    public void Experiment_StoresFrozenWeights_SupermaskAndRandomMaskOfTheSameDensity()
    {
        string run = Path.Combine(_dir, "run");
        var results = new SupermaskExperiment(Config(), run).Run(1);
        Assert.That(results.Select(r => r.Branch), Is.EqualTo(new[] { SupermaskExperiment.RandomMaskBranch, SupermaskExperiment.SupermaskBranch }));
        Assert.That(results[1].Iterations, Is.EqualTo(16));
        Assert.That(results[0].Iterations, Is.Zero, "the random mask is never trained");
        Assert.That(results[0].LayerWeightsRemaining, Is.EqualTo(results[1].LayerWeightsRemaining), "same density in every layer");

        string replicate = Path.Combine(run, "replicate_0");
        var expected = SupermaskExperiment.FrozenNetwork("lenet_300_100", [1, 4, 3], 10, SupermaskWeights.SignedConstant, 3);
        var init = SafeTensors.Read(Path.Combine(replicate, "supermask", "init.safetensors")).Tensors;
        foreach (var (name, tensor) in expected.StateDict())
        {
            Assert.That(BitsOf(init[name].Data), Is.EqualTo(BitsOf(tensor.ToArray())), $"{name}: stored frozen weights are the seed's network");
        }

        Assert.That(File.ReadAllBytes(Path.Combine(replicate, "random_mask", "init.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(replicate, "supermask", "init.safetensors"))), "both masks sit on the same weights");
        foreach (string branch in new[] { "supermask", "random_mask" })
        {
            var final = SafeTensors.Read(Path.Combine(replicate, branch, "final.safetensors")).Tensors;
            var mask = SafeTensors.Read(Path.Combine(replicate, branch, "mask.safetensors")).Tensors;
            foreach (var (name, tensor) in init)
            {
                var want = mask.TryGetValue(name, out var m) ? tensor.Data.Select((w, i) => w * m.Data[i]).ToArray() : tensor.Data;
                Assert.That(BitsOf(final[name].Data), Is.EqualTo(BitsOf(want)), $"{branch} {name}: final weights are the frozen ones times the mask");
            }
        }

        var summary = SupermaskSummary.Read(run);
        string table = SupermaskReport.Format(summary);
        Assert.That(table, Does.Contain("supermask test acc").And.Contain("random mask test acc").And.Contain("30% of each layer"));
        Assert.That(SupermaskConfig.IsSupermaskRun(run), Is.True);
        Assert.That(summary.Curve.Select(c => c.Iteration), Is.EqualTo(new[] { 0, 4, 8, 12, 16 }));
        Assert.That(SupermaskReport.WritePlot(summary, run).All(File.Exists), Is.True);
    }

    [Test]
    public void SameSeed_GivesTheSameBits_AndAnInterruptedRunResumesToThem()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), broken = Path.Combine(_dir, "broken");
        new SupermaskExperiment(Config(epochs: 1), a).Run(2);
        new SupermaskExperiment(Config(epochs: 1), b).Run(2);
        Assert.That(Files(b), Is.EqualTo(Files(a)), "same seed, same bits");

        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => new SupermaskExperiment(Config(epochs: 1), broken).Run(2, p =>
        {
            if (p.Replicate == 1 && p.Branch == SupermaskExperiment.SupermaskBranch && p.Iteration == 5)
            {
                cts.Cancel();
            }
        }, cancellation: cts.Token));
        string firstDone = Path.Combine(broken, "replicate_0", "supermask", "result.json");
        var stamp = File.GetLastWriteTimeUtc(firstDone);
        Assert.That(File.Exists(Path.Combine(broken, "replicate_1", "supermask", "result.json")), Is.False);

        new SupermaskExperiment(Config(epochs: 1), broken).Run(2);
        Assert.That(File.GetLastWriteTimeUtc(firstDone), Is.EqualTo(stamp), "a finished unit is not trained again");
        Assert.That(Files(broken), Is.EqualTo(Files(a)), "the resumed run ends with the uninterrupted run's bits");
    }

    [Test]
    public void KaimingNormalWeights_AndSettingsErrors_NameTheValue()
    {
        string run = Path.Combine(_dir, "kn");
        var config = Config(SupermaskWeights.KaimingNormal);
        Assert.That(SupermaskExperiment.DirectoryFor(config, _dir), Is.Not.EqualTo(SupermaskExperiment.DirectoryFor(Config(), _dir)), "the weights name the run");
        new SupermaskExperiment(config, run).Run(1);
        Assert.That(File.ReadAllText(Path.Combine(run, "hyperparameters.json")), Does.Contain("\"weights\": \"kaiming-normal\"").And.Contain("\"experiment\": \"supermask\""));

        var five = Config() with { Iterations = 5 };
        Assert.That(SupermaskExperiment.DirectoryFor(five, _dir), Is.Not.EqualTo(SupermaskExperiment.DirectoryFor(Config(), _dir)), "a count in iterations names the run");
        var results = new SupermaskExperiment(five, Path.Combine(_dir, "five")).Run(1);
        Assert.That(results.Single(r => r.Branch == SupermaskExperiment.SupermaskBranch).Iterations, Is.EqualTo(5));
        Assert.That(File.Exists(Path.Combine(_dir, "five", "summary.json")), Is.True);
        Assert.That(new SupermaskExperiment(five, Path.Combine(_dir, "idle")).Run(1, shard: Shard.Parse("1/2")), Is.Empty, "a shard without a replicate runs nothing");
        Assert.That(Assert.Throws<SettingsException>(() => (Config() with { Iterations = 0 }).Validate())!.Message, Does.Contain("iterations must be positive, got 0"));

        Assert.That(Assert.Throws<SettingsException>(() => (Config() with { Density = 0 }).Validate())!.Message, Does.Contain("density must be in (0, 1], got 0"));
        Assert.That(Assert.Throws<SettingsException>(() => (Config() with { Density = 1.2 }).Validate())!.Message, Does.Contain("got 1.2"));
        var glorot = Config() with { Training = Config().Training with { Recipe = Config().Training.Recipe with { Init = InitScheme.GlorotNormal } } };
        Assert.That(Assert.Throws<SettingsException>(glorot.Validate)!.Message, Does.Contain("Kaiming normal"));
        var tooSparse = Config() with { Density = 0.0001 };
        Assert.That(Assert.Throws<SettingsException>(() => new SupermaskExperiment(tooSparse, Path.Combine(_dir, "sparse")).Run(1))!.Message, Does.Contain("keeps no weight of fc1.weight"));
    }

    [TestCase("conv2", 2)]
    [TestCase("conv4", 4)]
    [TestCase("conv6", 6)]
    public void ConvModels_TrainTheirScores(string name, int convolutions)
    {
        string data = Path.Combine(_dir, "data8");
        IdxTestFiles.WriteDataset(data, train: 40, test: 8, gzip: false, rows: 8, cols: 8);
        var model = SupermaskExperiment.FrozenNetwork(name, [1, 8, 8], 10, SupermaskWeights.SignedConstant, 1);
        var popup = new EdgePopup(model, 0.5, s => new Adam(s, 0.01f), seed: 1);
        var (train, _) = DatasetCatalog.Load(data);
        var scores0 = popup.Scores.Select(s => s.Scores.Value.ToArray()).ToList();
        new Trainer(model, popup, LearningRateSchedule.Constant(0.01f), train, 8, 1).TrainTo(2);
        Assert.That(popup.Scores.Select(s => s.Scores.Value.ToArray()), Is.Not.EqualTo(scores0));
        Assert.That(popup.Mask().Entries.Count(e => e.Shape.Length == 4), Is.EqualTo(convolutions), "every convolution is masked");
        Assert.That(popup.Mask().Entries.All(e => MaskSet.Kept(e.Mask) == (int)Math.Round(0.5 * e.Mask.Length, MidpointRounding.AwayFromZero)), Is.True);
    }

    private static Dictionary<string, float[]> ExperimentContextSnapshot(Module model) =>
        model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);

    private static int[] BitsOf(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
