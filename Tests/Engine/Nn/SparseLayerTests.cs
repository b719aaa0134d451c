using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Nn;

/// <summary>
/// The sparse path of a pruned linear layer against its dense path: the same outputs and gradients to float rounding
/// on random shapes and masks (empty rows and columns, fully pruned, fully dense), a compressed form that follows the
/// mask and the weight, and optimizer steps that touch only the kept weights with the dense step's bits.
/// </summary>
public class SparseLayerTests
{
    private static float[] RandomValues(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();

    private static float[] RandomMask(Random rng, int rows, int columns, double density, bool emptyRowsAndColumns)
    {
        var mask = Enumerable.Range(0, rows * columns).Select(_ => rng.NextDouble() < density ? 1f : 0f).ToArray();
        if (emptyRowsAndColumns && rows > 1 && columns > 1)
        {
            Array.Clear(mask, columns, columns);                   // row 1 pruned whole
            for (int r = 0; r < rows; r++)
            {
                mask[(r * columns) + columns - 1] = 0f;            // last column pruned whole
            }
        }

        return mask;
    }

    private static (Linear Layer, float[] Mask) PrunedLayer(Random rng, int inputs, int outputs, double density, bool empty, SparseMode mode)
    {
        var layer = new Linear(inputs, outputs);
        RandomValues(rng, inputs * outputs).CopyTo(layer.Weight.Value.Span);
        RandomValues(rng, outputs).CopyTo(layer.Bias!.Value.Span);
        var mask = RandomMask(rng, outputs, inputs, density, empty);
        layer.Weight.Mask = Tensor.FromArray(mask, outputs, inputs);
        layer.Weight.ApplyMask();
        layer.UseSparse(mode);
        return (layer, mask);
    }

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) Pass(Linear layer, float[] input, int batch, float[] upstream)
    {
        var x = Tensor.FromArray(input, batch, layer.InFeatures);
        x.RequiresGrad = true;
        layer.Weight.ClearGrad(releaseBuffer: true);
        layer.Bias!.ClearGrad(releaseBuffer: true);
        var y = layer.Forward(x);
        Gradients.Backward((y * Tensor.FromArray(upstream, batch, layer.OutFeatures)).Sum());
        var dw = layer.Weight.Grad!.ToArray();
        var mask = layer.Weight.Mask!.ToArray();
        return (y.ToArray(), x.Grad!.ToArray(), dw.Select((g, i) => g * mask[i]).ToArray(), layer.Bias.Grad!.ToArray());
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        float scale = expected.Length == 0 ? 1f : Math.Max(1f, expected.Max(MathF.Abs));
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5f * scale), $"{what}[{i}]");
        }
    }

    [TestCase(1, 1, 1, 1.0, false)]
    [TestCase(7, 5, 3, 0.5, true)]
    [TestCase(33, 17, 19, 0.1, true)]
    [TestCase(64, 100, 60, 0.02, false)]
    [TestCase(20, 9, 16, 0.0, false)]
    [TestCase(20, 9, 16, 1.0, true)]
    [TestCase(130, 70, 45, 0.3, true)]
    public void SparseAndDense_Agree(int inputs, int outputs, int batch, double density, bool empty)
    {
        var rng = new Random((inputs * 1000) + outputs);
        var (sparse, mask) = PrunedLayer(rng, inputs, outputs, density, empty, SparseMode.On);
        var dense = new Linear(inputs, outputs).UseSparse(SparseMode.Off);
        ((Linear)dense).LoadStateDict(sparse.StateDict());
        ((Linear)dense).Weight.Mask = Tensor.FromArray(mask, outputs, inputs);
        var input = RandomValues(rng, batch * inputs);
        var upstream = RandomValues(rng, batch * outputs);

        var s = Pass(sparse, input, batch, upstream);
        var d = Pass((Linear)dense, input, batch, upstream);
        AssertClose(s.Y, d.Y, "y");
        AssertClose(s.Dx, d.Dx, "dx");
        AssertClose(s.Dw, d.Dw, "dW");
        AssertClose(s.Db, d.Db, "db");
        Assert.That(sparse.Weight.Grad!.ToArray().Where((g, i) => mask[i] == 0f), Is.All.EqualTo(0f), "the sparse weight gradient is zero where pruned");
    }

    [Test]
    public void GradientAccumulates_AcrossTwoBackwardPasses()
    {
        var rng = new Random(3);
        var (layer, _) = PrunedLayer(rng, 24, 12, 0.2, false, SparseMode.On);
        var x = Tensor.FromArray(RandomValues(rng, 5 * 24), 5, 24);
        Gradients.Backward(layer.Forward(x).Sum());
        var once = layer.Weight.Grad!.ToArray();
        Gradients.Backward(layer.Forward(x).Sum());
        AssertClose(layer.Weight.Grad!.ToArray(), once.Select(g => 2 * g).ToArray(), "accumulated dW");

        // The next pass writes into the kept buffer (the sink) and must overwrite it, not add.
        layer.Weight.ClearGrad();
        Gradients.Backward(layer.Forward(x).Sum());
        AssertClose(layer.Weight.Grad!.ToArray(), once, "dW after clearing");
    }

    [Test]
    public void DenseWeightGradient_IsWrittenWhenRead_WithTheValuesOfItsOwnPass()
    {
        var rng = new Random(9);
        var (layer, _) = PrunedLayer(rng, 40, 24, 0.2, true, SparseMode.On);
        var adam = new Adam(layer.Parameters(), learningRate: 0.01f);
        var (x1, x2) = (Tensor.FromArray(RandomValues(rng, 6 * 40), 6, 40), Tensor.FromArray(RandomValues(rng, 6 * 40), 6, 40));
        Tensor Loss(Tensor x)
        {
            var y = layer.Forward(x);
            return (y * y).Sum();
        }

        for (int step = 0; step < 2; step++)
        {
            adam.ZeroGrad();
            Gradients.Backward(Loss(x1));
            adam.Step();
        }

        // From the second pass on, the pass writes its kept values into the same buffer: only when it is read.
        var grad = layer.Weight.Grad!;
        var storage = (SparseNet.Engine.Devices.CpuStorage)grad.Storage;
        adam.ZeroGrad();
        Gradients.Backward(Loss(x1));
        Assert.That(storage.HasDeferredWrite, Is.True, "the dense gradient waits after a pass into the kept buffer");
        var stepped = layer.Weight.Value.ToArray();

        // Another pass of the same weight into a new tensor overwrites the compressed values: the waiting gradient gets
        // the first pass's values before that.
        var other = Gradients.Grad([Loss(x2)], [layer.Weight.Value])[0]!.ToArray();
        Assert.That(storage.HasDeferredWrite, Is.False, "the waiting gradient was written before its values were overwritten");
        var expected = Gradients.Grad([Loss(x1)], [layer.Weight.Value])[0]!.ToArray();
        Assert.That(grad.ToArray(), Is.EqualTo(expected), "the gradient holds its own pass's values, bit for bit");
        Assert.That(other, Is.Not.EqualTo(expected), "the two inputs give different gradients");
        Assert.That(layer.Weight.Value.ToArray(), Is.EqualTo(stepped), "reading the gradient leaves the weight alone");

        // The optimizer's sparse step reads the compressed values and leaves the dense gradient waiting (the first pass
        // after the one into a new tensor overwrites the buffer whole, the next writes the kept values only).
        adam.ZeroGrad();
        Gradients.Backward(Loss(x1));
        adam.Step();
        var (before, biasBefore) = (layer.Weight.Value.ToArray(), layer.Bias!.Value.ToArray());
        adam.ZeroGrad();
        Gradients.Backward(Loss(x1));
        adam.Step();
        Assert.That(storage.HasDeferredWrite, Is.True, "the sparse Adam step does not read the dense gradient");
        var read = layer.Weight.Grad!.ToArray();
        before.CopyTo(layer.Weight.Value.Span);
        biasBefore.CopyTo(layer.Bias.Value.Span);
        Assert.That(read, Is.EqualTo(Gradients.Grad([Loss(x1)], [layer.Weight.Value])[0]!.ToArray()), "read after the step, the gradient holds its pass's values");
    }

    [Test]
    public void CompressedForm_FollowsTheMaskAndTheWeight()
    {
        var rng = new Random(4);
        var (layer, _) = PrunedLayer(rng, 16, 8, 0.5, false, SparseMode.On);
        var reference = new Linear(16, 8).UseSparse(SparseMode.Off);
        var x = Tensor.FromArray(RandomValues(rng, 3 * 16), 3, 16);
        void Check(string what)
        {
            ((Linear)reference).LoadStateDict(layer.StateDict());
            using var noGrad = GradMode.NoGrad();
            AssertClose(layer.Forward(x).ToArray(), reference.Forward(x).ToArray(), what);
        }

        Check("first");
        layer.Weight.Value.Span[3] += 1f;                                  // a weight written in place (kept or pruned)
        layer.Weight.ApplyMask();
        Check("after a weight write");
        layer.Weight.Mask!.Fill(1f);                                        // the mask written in place
        RandomValues(rng, 16 * 8).CopyTo(layer.Weight.Value.Span);
        Check("after the mask was filled");
        layer.Weight.Mask = Tensor.FromArray(RandomMask(rng, 8, 16, 0.1, true), 8, 16);   // a new mask
        layer.Weight.ApplyMask();
        Check("after a new mask");
    }

    [Test]
    public void DoubleBackward_ThroughTheSparsePath_MatchesDense()
    {
        var rng = new Random(5);
        var (sparse, mask) = PrunedLayer(rng, 10, 6, 0.4, false, SparseMode.On);
        var dense = (Linear)new Linear(10, 6).UseSparse(SparseMode.Off);
        dense.LoadStateDict(sparse.StateDict());
        dense.Weight.Mask = Tensor.FromArray(mask, 6, 10);
        var x = Tensor.FromArray(RandomValues(rng, 4 * 10), 4, 10);
        float[] GradNormGrad(Linear layer)
        {
            var loss = layer.Forward(x).Tanh().Sum();
            var g = Gradients.Grad([loss], [layer.Weight.Value], createGraph: true)[0]!;
            var kept = g * layer.Weight.Mask!;    // the gradient on the kept weights: what the sparse path gives
            var h = Gradients.Grad([(kept * kept).Sum()], [layer.Weight.Value])[0]!;
            return h.ToArray().Select((v, i) => v * mask[i]).ToArray();
        }

        AssertClose(GradNormGrad(sparse), GradNormGrad(dense), "Hessian-gradient product");
    }

    [TestCase(0.05, 0f)]
    [TestCase(0.2, 0.01f)]
    public void SparseAdamStep_GivesTheDenseStepsBits(double density, float weightDecay)
    {
        var rng = new Random(6);
        var mask = RandomMask(rng, 40, 50, density, true);
        var (sparse, dense) = (new Parameter(Tensor.FromArray(RandomValues(rng, 2000), 40, 50)), new Parameter(Tensor.Zeros(40, 50)));
        sparse.Mask = Tensor.FromArray(mask, 40, 50);
        sparse.ApplyMask();
        dense.Value.CopyFrom(sparse.Value);
        var a = new Adam([sparse], learningRate: 0.01f, weightDecay: weightDecay);
        var b = new Adam([dense], learningRate: 0.01f, weightDecay: weightDecay);
        for (int step = 0; step < 3; step++)
        {
            var grad = RandomValues(rng, 2000);
            sparse.Grad = Tensor.FromArray(grad, 40, 50);
            dense.Grad = Tensor.FromArray(grad.Select((g, i) => g * mask[i]).ToArray(), 40, 50);  // a dense parameter with a masked gradient
            a.Step();
            b.Step();
        }

        Assert.That(sparse.Value.ToArray(), Is.EqualTo(dense.Value.ToArray()), "θ");
        Assert.That(a.FirstMoment(0), Is.EqualTo(b.FirstMoment(0)), "m");
        Assert.That(a.SecondMoment(0), Is.EqualTo(b.SecondMoment(0)), "v");
        Assert.That(sparse.Value.ToArray().Where((w, i) => mask[i] == 0f), Is.All.EqualTo(0f), "pruned weights stay zero");
    }

    [TestCase(0f, false, 0f)]
    [TestCase(0.9f, false, 0.001f)]
    [TestCase(0.9f, true, 0.001f)]
    public void SparseSgdStep_GivesTheDenseStepsBits(float momentum, bool nesterov, float weightDecay)
    {
        var rng = new Random(7);
        var mask = RandomMask(rng, 30, 64, 0.1, false);
        var (sparse, dense) = (new Parameter(Tensor.FromArray(RandomValues(rng, 30 * 64), 30, 64)), new Parameter(Tensor.Zeros(30, 64)));
        sparse.Mask = Tensor.FromArray(mask, 30, 64);
        sparse.ApplyMask();
        dense.Value.CopyFrom(sparse.Value);
        var a = new Sgd([sparse], learningRate: 0.05f, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay);
        var b = new Sgd([dense], learningRate: 0.05f, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay);
        for (int step = 0; step < 3; step++)
        {
            var grad = RandomValues(rng, 30 * 64);
            sparse.Grad = Tensor.FromArray(grad, 30, 64);
            dense.Grad = Tensor.FromArray(grad.Select((g, i) => g * mask[i]).ToArray(), 30, 64);
            a.Step();
            b.Step();
        }

        Assert.That(sparse.Value.ToArray(), Is.EqualTo(dense.Value.ToArray()));
    }

    [Test]
    public void Training_IsDeterministic_AndAgreesWithDense()
    {
        float[] Train(SparseMode mode)
        {
            var rng = new Random(8);
            var model = new Sequential(("fc1", new Linear(20, 32)), ("relu", new ReLU()), ("fc2", new Linear(32, 4)));
            foreach (var (name, p) in model.NamedParameters())
            {
                RandomValues(rng, p.Size).Select(v => v * 0.3f).ToArray().CopyTo(p.Value.Span);
                if (name.EndsWith("weight", StringComparison.Ordinal))
                {
                    p.Mask = Tensor.FromArray(RandomMask(rng, p.Shape[0], p.Shape[1], 0.15, false), p.Shape);
                    p.ApplyMask();
                }
            }

            model.UseSparse(mode);
            var adam = new Adam(model.Parameters(), learningRate: 0.01f);
            var x = Tensor.FromArray(RandomValues(rng, 16 * 20), 16, 20);
            int[] labels = Enumerable.Range(0, 16).Select(i => i % 4).ToArray();
            for (int step = 0; step < 20; step++)
            {
                adam.ZeroGrad();
                Gradients.Backward(Tensor.SoftmaxCrossEntropy(model.Forward(x), labels));
                adam.Step();
            }

            return model.Parameters().SelectMany(p => p.Value.ToArray()).ToArray();
        }

        var sparse = Train(SparseMode.On);
        Assert.That(Train(SparseMode.On), Is.EqualTo(sparse), "the sparse path gives the same bits twice");
        AssertClose(sparse, Train(SparseMode.Off), "sparse vs dense training");
    }

    [Test]
    public void Auto_FollowsTheCachedCrossover()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sparsenet-crossover-" + Guid.NewGuid().ToString("N"));
        string saved = SparseCrossover.CacheDirectory;
        try
        {
            SparseCrossover.CacheDirectory = dir;
            double measured = SparseCrossover.Linear(48, 24, 8);
            Assert.That(measured, Is.InRange(0.0, 1.0));
            string file = Path.Combine(dir, "sparse-crossover.json");
            Assert.That(File.ReadAllText(file), Does.Contain("linear 48->24 b8").And.Contain(SparseCrossover.Machine));

            // A value written by hand is what the next process reads.
            File.WriteAllText(file, $$"""{ "{{SparseCrossover.Machine.Replace("\\", "\\\\", StringComparison.Ordinal)}}": { "linear 48->24 b8": 0.375 } }""");
            SparseCrossover.CacheDirectory = dir;
            Assert.That(SparseCrossover.Linear(48, 24, 7), Is.EqualTo(0.375), "batch 7 shares batch 8's measurement");
        }
        finally
        {
            SparseCrossover.CacheDirectory = saved;
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [TestCase(1.0, 0.05, 2.0, 0.25, 6.0, 0.0)]    // slower at every density
    [TestCase(1.0, 0.05, 0.2, 0.25, 0.6, 0.45)]   // the line meets the dense time at 0.45
    [TestCase(1.0, 0.05, 0.1, 0.25, 0.1, 1.0)]    // flat and faster
    public void Crossover_IsWhereTheSparseLineMeetsDense(double dense, double d1, double t1, double d2, double t2, double expected) =>
        Assert.That(SparseCrossover.Crossover(dense, d1, t1, d2, t2), Is.EqualTo(expected).Within(1e-12));

    [TestCase(2, 3, 5, 7, 6, 3, 1, 0.3, false)]
    [TestCase(3, 8, 8, 8, 16, 3, 1, 0.05, true)]
    [TestCase(1, 4, 9, 5, 3, 5, 2, 0.5, false)]
    [TestCase(2, 5, 6, 6, 4, 3, 0, 0.0, true)]
    [TestCase(2, 5, 6, 6, 4, 3, 1, 1.0, false)]
    [TestCase(2, 6, 7, 7, 5, 1, 0, 0.2, true)]
    public void SparseAndDenseConvolutions_Agree(int n, int c, int h, int w, int o, int k, int padding, double density, bool relu)
    {
        var rng = new Random((c * 100) + o + k);
        var sparse = new Conv2d(c, o, k, stride: 1, padding: padding);
        foreach (var p in sparse.Parameters())
        {
            RandomValues(rng, p.Size).CopyTo(p.Value.Span);
        }

        var mask = RandomMask(rng, o, c * k * k, density, emptyRowsAndColumns: true);
        sparse.Weight.Mask = Tensor.FromArray(mask, o, c, k, k);
        sparse.Weight.ApplyMask();
        sparse.UseSparse(SparseMode.On);
        var dense = (Conv2d)new Conv2d(c, o, k, stride: 1, padding: padding).UseSparse(SparseMode.Off);
        dense.LoadStateDict(sparse.StateDict());
        dense.Weight.Mask = Tensor.FromArray(mask, o, c, k, k);
        var input = RandomValues(rng, n * c * h * w);
        int oh = h + (2 * padding) - k + 1, ow = w + (2 * padding) - k + 1;
        var upstream = RandomValues(rng, n * o * oh * ow);

        (float[] Y, float[] Dx, float[] Dw, float[] Db) Pass(Conv2d layer)
        {
            var x = Tensor.FromArray(input, n, c, h, w);
            x.RequiresGrad = true;
            layer.Weight.ClearGrad(releaseBuffer: true);
            layer.Bias!.ClearGrad(releaseBuffer: true);
            var y = relu ? layer.ForwardRelu(x) : layer.Forward(x);
            Gradients.Backward((y * Tensor.FromArray(upstream, n, o, oh, ow)).Sum());
            return (y.ToArray(), x.Grad!.ToArray(), layer.Weight.Grad!.ToArray().Select((g, i) => g * mask[i]).ToArray(), layer.Bias.Grad!.ToArray());
        }

        var s = Pass(sparse);
        var d = Pass(dense);
        AssertClose(s.Y, d.Y, "y");
        AssertClose(s.Dx, d.Dx, "dx");
        AssertClose(s.Dw, d.Dw, "dW");
        AssertClose(s.Db, d.Db, "db");

        // With the weight frozen the bias gradient is summed on its own, with the bits it has beside the weight's.
        sparse.Weight.Value.RequiresGrad = false;
        sparse.Bias!.ClearGrad(releaseBuffer: true);
        var frozenInput = Tensor.FromArray(input, n, c, h, w);
        var frozenY = relu ? sparse.ForwardRelu(frozenInput) : sparse.Forward(frozenInput);
        Gradients.Backward((frozenY * Tensor.FromArray(upstream, n, o, oh, ow)).Sum());
        Assert.That(sparse.Bias.Grad!.ToArray(), Is.EqualTo(s.Db), "db with the weight frozen");
        sparse.Weight.Value.RequiresGrad = true;

        // A second pass adds into the kept gradient buffer (the sink's accumulate path).
        var x2 = Tensor.FromArray(input, n, c, h, w);
        Gradients.Backward((relu ? sparse.ForwardRelu(x2) : sparse.Forward(x2)).Sum());
        Assert.That(sparse.Weight.Grad!.ToArray().Where((g, i) => mask[i] == 0f), Is.All.EqualTo(0f), "the sparse weight gradient is zero where pruned");
    }

    [Test]
    public void AdamMoments_CarryOver_WhenAParameterTurnsSparseAndBackDense()
    {
        // One parameter gets a sparse mask after two dense steps and loses it after two more; a second one takes the
        // dense step all along on the masked gradient. Pruned moments start at zero (pruned gradients were zero from
        // the start), so every bit of θ, m and v must agree.
        var rng = new Random(9);
        var mask = RandomMask(rng, 20, 30, 0.1, true);
        var initial = RandomValues(rng, 600).Select((w, i) => w * mask[i]).ToArray();
        var (switching, dense) = (new Parameter(Tensor.FromArray(initial, 20, 30)), new Parameter(Tensor.FromArray(initial, 20, 30)));
        var a = new Adam([switching], learningRate: 0.01f, weightDecay: 0.001f);
        var b = new Adam([dense], learningRate: 0.01f, weightDecay: 0.001f);
        for (int step = 0; step < 6; step++)
        {
            switching.Mask = step is >= 2 and < 4 ? Tensor.FromArray(mask, 20, 30) : null;
            var grad = RandomValues(rng, 600).Select((g, i) => g * mask[i]).ToArray();
            switching.Grad = Tensor.FromArray(grad, 20, 30);
            dense.Grad = Tensor.FromArray(grad, 20, 30);
            a.Step();
            b.Step();
            Assert.That(a.FirstMoment(0), Is.EqualTo(b.FirstMoment(0)), $"m after step {step}");
            Assert.That(a.SecondMoment(0), Is.EqualTo(b.SecondMoment(0)), $"v after step {step}");
        }

        Assert.That(switching.Value.ToArray(), Is.EqualTo(dense.Value.ToArray()), "θ");
    }
}
