using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// The batch-normalisation op beyond its gradient checks: the fused first-order backward against the recorded one,
/// the running statistics against numbers worked out by hand, evaluation mode, determinism, the arena, another
/// device's backend, and bad arguments.
/// </summary>
public class BatchNormOpTests
{
    private static readonly float[] RunningMean = [0.25f, -0.5f, 0.125f];
    private static readonly float[] RunningVar = [0.5f, 2f, 1.25f];

    private static Tensor Sample(Random rng, InputKind kind, params int[] shape) => GradientChecker.Sample(rng, shape, kind).ToTensor();

    [TestCase(true)]
    [TestCase(false)]
    public void FusedBackward_AndTheRecordedOne_GiveTheSameGradients(bool training)
    {
        var rng = new Random(training ? 51 : 52);
        var x = Sample(rng, InputKind.Uniform, 4, 3, 5, 6);
        var gamma = Sample(rng, InputKind.Positive, 3);
        var beta = Sample(rng, InputKind.Uniform, 3);
        var g = Sample(rng, InputKind.Uniform, 4, 3, 5, 6);

        float[][] Run(bool createGraph)
        {
            var inputs = new[] { x.Clone(), gamma.Clone(), beta.Clone() };
            foreach (var t in inputs)
            {
                t.RequiresGrad = true;
            }

            var y = Tensor.BatchNorm2d(inputs[0], inputs[1], inputs[2], Tensor.FromArray(RunningMean, 3), Tensor.FromArray(RunningVar, 3), training);
            var grads = Gradients.Grad([y], inputs, [g], createGraph);
            // dβ = Σ g does not depend on the inputs, so it is a constant either way.
            Assert.That(grads.Take(2).Select(t => t!.RequiresGrad), Is.All.EqualTo(createGraph), "dx and dγ are differentiable exactly with createGraph");
            return grads.Select(t => t!.ToArray()).ToArray();
        }

        var fused = Run(createGraph: false);
        var recorded = Run(createGraph: true);
        string[] names = ["dx", "dγ", "dβ"];
        for (int i = 0; i < 3; i++)
        {
            GradientChecker.ExpectClose($"{names[i]}, fused vs recorded", fused[i], recorded[i], 1e-6, 1e-5);
        }

        Assert.That(fused[0].Max(Math.Abs), Is.GreaterThan(0.1), "dx should not be negligible");
    }

    [Test]
    public void RunningStatistics_FollowPyTorchsUpdate_WorkedOutByHand()
    {
        var bn = new BatchNorm2d(1);

        // Batch 1: values 1, 2, 3, 6: mean 3, biased variance 14/4 = 3.5, unbiased 14/3.
        var y = bn.Forward(Tensor.FromArray([1f, 2f, 3f, 6f], 2, 1, 1, 2)).ToArray();
        Assert.That(bn.RunningMean.ToArray()[0], Is.EqualTo(0.3f).Within(1e-7));
        Assert.That(bn.RunningVar.ToArray()[0], Is.EqualTo((0.9 * 1) + (0.1 * 14 / 3.0)).Within(1e-6));
        double sd = Math.Sqrt(3.5 + 1e-5);
        Assert.That(y, Is.EqualTo(new[] { -2 / sd, -1 / sd, 0, 3 / sd }).Within(1e-6));

        // Batch 2: values 0, 0, 4, 4: mean 2, unbiased variance 16/3.
        bn.Forward(Tensor.FromArray([0f, 0f, 4f, 4f], 2, 1, 1, 2));
        double mean = (0.9 * 0.3) + (0.1 * 2);
        double variance = (0.9 * ((0.9 * 1) + (0.1 * 14 / 3.0))) + (0.1 * 16 / 3.0);
        Assert.That(bn.RunningMean.ToArray()[0], Is.EqualTo(mean).Within(1e-6));
        Assert.That(bn.RunningVar.ToArray()[0], Is.EqualTo(variance).Within(1e-6));

        // Evaluation: (x − 0.47)/√(1.7633… + eps)·γ + β, running statistics untouched, dy/dx = γ/√(var + eps).
        bn.Eval();
        bn.Weight.Value.Fill(2f);
        bn.Bias.Value.Fill(0.5f);
        var x = Tensor.FromArray([1f, -1f, 0.5f, 3f], 2, 1, 1, 2);
        x.RequiresGrad = true;
        var e = bn.Forward(x);
        double invStd = 1 / Math.Sqrt(variance + 1e-5);
        Assert.That(e.ToArray(), Is.EqualTo(new[] { 1.0, -1, 0.5, 3 }.Select(v => ((v - mean) * invStd * 2) + 0.5)).Within(1e-5));
        Assert.That(bn.RunningMean.ToArray()[0], Is.EqualTo(mean).Within(1e-6));
        Assert.That(bn.RunningVar.ToArray()[0], Is.EqualTo(variance).Within(1e-6));
        Gradients.Backward(e.Sum());
        Assert.That(x.Grad!.ToArray(), Is.All.EqualTo(2 * invStd).Within(1e-5));
        Assert.That(bn.Weight.Grad!.ToArray()[0], Is.EqualTo(new[] { 1.0, -1, 0.5, 3 }.Sum(v => (v - mean) * invStd)).Within(1e-5));
        Assert.That(bn.Bias.Grad!.ToArray()[0], Is.EqualTo(4f));
    }

    [Test]
    public void TrainingWithAnotherMomentum_MovesTheRunningStatisticsByThatWeight()
    {
        var rng = new Random(53);
        var x = Sample(rng, InputKind.Uniform, 3, 2, 4, 5);
        var rm = Tensor.FromArray([0.5f, -0.25f], 2);
        var rv = Tensor.FromArray([2f, 0.75f], 2);
        Tensor.BatchNorm2d(x, Tensor.Ones(2), Tensor.Zeros(2), rm, rv, training: true, momentum: 0.3f);
        var (mean, variance) = DoubleReference.ChannelStatistics(RefTensor.FromTensor(x));
        double unbias = 60.0 / 59.0;
        Assert.That(rm.ToArray(), Is.EqualTo(new[] { (0.7 * 0.5) + (0.3 * mean[0]), (0.7 * -0.25) + (0.3 * mean[1]) }).Within(1e-6));
        Assert.That(rv.ToArray(), Is.EqualTo(new[] { (0.7 * 2) + (0.3 * variance[0] * unbias), (0.7 * 0.75) + (0.3 * variance[1] * unbias) }).Within(1e-6));
    }

    // A conv-sized activation (8·16·16·16 floats) reaches the parallel kernels and comes from the arena.
    private static float[] Step(bool withArena, int steps)
    {
        var rng = new Random(54);
        var x = Sample(rng, InputKind.Uniform, 8, 16, 16, 16);
        var r = Sample(rng, InputKind.Uniform, 8, 16, 16, 16);
        var bn = new BatchNorm2d(16);
        var arena = new TensorArena();
        x.RequiresGrad = true;
        var kept = new List<float>();
        for (int s = 0; s < steps; s++)
        {
            x.Grad = null;
            foreach (var p in bn.Parameters())
            {
                p.Grad = null;
            }

            using (withArena ? arena.Enter() : default)
            {
                var loss = (bn.Forward(x).Tanh() * r).Sum();
                kept.Add(loss.Item());
                Gradients.Backward(loss);
            }
        }

        // Every large buffer of the last step comes from the arena, except x's gradient: it is kept by the leaf.
        Assert.That(!withArena || (arena.HandedOut > 2 && arena.Reused == arena.HandedOut - 1), Is.True, $"{arena.Reused} of {arena.HandedOut} buffers reused");
        return [.. kept, .. x.Grad!.ToArray(), .. bn.Weight.Grad!.ToArray(), .. bn.Bias.Grad!.ToArray(), .. bn.RunningMean.ToArray(), .. bn.RunningVar.ToArray()];
    }

    [Test]
    public void Steps_GiveTheSameBits_RunAfterRun_AndInsideAnArena()
    {
        float[] first = Step(withArena: false, 2);
        float[] second = Step(withArena: false, 2);
        float[] arena = Step(withArena: true, 2);
        Assert.That(second, Is.EqualTo(first).AsCollection, "loss, gradients and running statistics, second run");
        Assert.That(arena, Is.EqualTo(first).AsCollection, "the same inside an arena scope");
    }

    [Test]
    public void OnAnotherDevice_ForwardAndPlainBackward_AreOneBackendOpEach()
    {
        var backend = new HostMemoryBackend();
        var device = new Device($"host-{Guid.NewGuid():N}", backend);
        backend.Owner = device;
        var rng = new Random(55);
        float[] xs = GradientChecker.Sample(rng, [2, 3, 2, 4], InputKind.Uniform).Data.Select(v => (float)v).ToArray();
        float[] gs = GradientChecker.Sample(rng, [2, 3, 2, 4], InputKind.Uniform).Data.Select(v => (float)v).ToArray();

        float[][] Run(Device on, Action<int>? countForward, Action<int>? countBackward)
        {
            var x = Tensor.FromArray(xs, [2, 3, 2, 4], on);
            var gamma = Tensor.FromArray([1.5f, 0.5f, 1f], [3], on);
            var beta = Tensor.FromArray([0f, 1f, -1f], [3], on);
            x.RequiresGrad = gamma.RequiresGrad = beta.RequiresGrad = true;
            int before = backend.Ops;
            var y = Tensor.BatchNorm2d(x, gamma, beta, Tensor.Zeros([3], on), Tensor.Full(1f, [3], on), training: true);
            countForward?.Invoke(backend.Ops - before);
            before = backend.Ops;
            var grads = Gradients.Grad([y], [x, gamma, beta], [Tensor.FromArray(gs, [2, 3, 2, 4], on)]);
            countBackward?.Invoke(backend.Ops - before);
            return [y.ToArray(), .. grads.Select(t => t!.ToArray())];
        }

        var there = Run(device, n => Assert.That(n, Is.EqualTo(1), "forward ops"), n => Assert.That(n, Is.EqualTo(1), "backward ops"));
        var here = Run(Device.Cpu, null, null);
        Assert.That(there, Is.EqualTo(here));
    }

    [Test]
    public void BadArguments_AreRejected_NamingTheValues()
    {
        var x = Tensor.Zeros(2, 3, 4, 4);
        Assert.Multiple(() =>
        {
            Assert.That(() => Tensor.BatchNorm2d(Tensor.Zeros(2, 3), Tensor.Ones(3), Tensor.Zeros(3), null, null, true), Throws.ArgumentException.With.Message.Contains("[2,3]").And.Message.Contains("rank 2"));
            Assert.That(() => Tensor.BatchNorm2d(x, Tensor.Ones(4), Tensor.Zeros(3), null, null, true), Throws.ArgumentException.With.Message.Contains("weight [4]").And.Message.Contains("[2,3,4,4]"));
            Assert.That(() => Tensor.BatchNorm2d(x, Tensor.Ones(3), Tensor.Zeros(3), null, null, false), Throws.ArgumentException.With.Message.Contains("evaluation needs the running"));
            Assert.That(() => Tensor.BatchNorm2d(x, Tensor.Ones(3), Tensor.Zeros(3), Tensor.Zeros(3), null, true), Throws.ArgumentException.With.Message.Contains("both"));
            Assert.That(() => Tensor.BatchNorm2d(Tensor.Zeros(1, 3, 1, 1), Tensor.Ones(3), Tensor.Zeros(3), null, null, true), Throws.ArgumentException.With.Message.Contains("more than one value").And.Message.Contains("[1,3,1,1]"));
            Assert.That(() => Tensor.BatchNorm2d(x, Tensor.Ones(3), Tensor.Zeros(3), null, null, true, momentum: 1.5f), Throws.ArgumentException.With.Message.Contains("momentum 1.5"));
            Assert.That(() => Tensor.BatchNorm2d(x, Tensor.Ones(3), Tensor.Zeros(3), null, null, true, eps: -1f), Throws.ArgumentException.With.Message.Contains("eps -1"));
        });
    }
}
