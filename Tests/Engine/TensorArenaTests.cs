using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;

namespace SparseNet.Tests.Engine;

public class TensorArenaTests
{
    // Conv-2 on 3×12×12 at batch 8: its activations (8·64·12·12 floats) are large enough to come from the arena.
    private static Module Model() => ModelZoo.Create("conv2", [3, 12, 12], 10, InitScheme.GlorotNormal, 5);

    private static (Tensor X, int[] Y) Batch()
    {
        var x = new float[8 * 3 * 12 * 12];
        new Philox(3, 1).FillUniform(x, -1f, 1f);
        return (Tensor.FromArray(x, [8, 3, 12, 12]), Enumerable.Range(0, 8).Select(i => i % 10).ToArray());
    }

    private static float[] Steps(bool withArena, int steps, out TensorArena arena)
    {
        var model = Model();
        var adam = new Adam(model.Parameters(), 1e-3f);
        var (x, y) = Batch();
        arena = new TensorArena();
        var losses = new List<float>();
        for (int s = 0; s < steps; s++)
        {
            adam.ZeroGrad();
            using (withArena ? arena.Enter() : default)
            {
                var loss = Tensor.SoftmaxCrossEntropy(model.Forward(x), y);
                losses.Add(loss.Item());
                Gradients.Backward(loss);
            }

            adam.Step();
        }

        return [.. losses, .. model.Parameters().SelectMany(p => p.Value.ToArray())];
    }

    [Test]
    public void Steps_ReuseEveryLargeBuffer_AndGiveTheBitsOfStepsWithoutTheArena()
    {
        float[] plain = Steps(withArena: false, 3, out _);
        float[] recycled = Steps(withArena: true, 3, out var arena);
        Assert.That(recycled, Is.EqualTo(plain).AsCollection, "losses and weights after 3 steps");
        Assert.That(arena.HandedOut, Is.GreaterThan(0));
        Assert.That(arena.Reused, Is.EqualTo(arena.HandedOut), "the third step allocates no large buffer");
    }

    [Test]
    public void ATensorMadeInsideAScope_ThrowsWhenUsedAfterIt_AndParameterGradientsSurvive()
    {
        var model = Model();
        var (x, y) = Batch();
        var arena = new TensorArena();
        Tensor activation, loss;
        using (arena.Enter())
        {
            activation = model.Forward(x);
            loss = Tensor.SoftmaxCrossEntropy(activation, y);
            Gradients.Backward(loss);
        }

        // The logits [8,10] are small (not from the arena); the conv output inside the model was recycled.
        Assert.That(activation.ToArray(), Has.Length.EqualTo(80));
        Assert.That(float.IsFinite(loss.Item()), Is.True);
        var conv = (Conv2d)model.NamedChildren().First(c => c.Module is Conv2d).Module;
        Tensor inner;
        using (arena.Enter())
        {
            inner = Tensor.Conv2d(x, conv.Weight.Value, conv.Bias!.Value, 1, 1);
            Assert.That(inner.ToArray().Length, Is.EqualTo(8 * 64 * 144));
        }

        var e = Assert.Throws<InvalidOperationException>(() => inner.ToArray());
        Assert.That(e!.Message, Does.Contain("recycled"));
        foreach (var p in model.Parameters())
        {
            Assert.That(p.Value.Grad, Is.Not.Null, "every parameter kept its gradient");
            Assert.That(p.Value.Grad!.ToArray().All(float.IsFinite), Is.True);
        }
    }

    [Test]
    public void Scopes_DoNotNest()
    {
        var arena = new TensorArena();
        using (arena.Enter())
        {
            Assert.Throws<InvalidOperationException>(() => new TensorArena().Enter());
        }

        using (arena.Enter())
        {
            // A scope can be entered again once the previous one ended.
        }
    }

    [Test]
    public void TheTrainer_WithItsArena_GivesTheSameBitsEveryRun()
    {
        var x = new float[40 * 3 * 12 * 12];
        new Philox(4, 1).FillUniform(x, 0f, 1f);
        var data = new Dataset(x, Enumerable.Range(0, 40).Select(i => i % 10).ToArray(), [3, 12, 12], 10);
        float[] Run()
        {
            var model = Model();
            var trainer = new Trainer(model, new Adam(model.Parameters(), 1e-3f), LearningRateSchedule.Constant(1e-3f), data, 8, seed: 2);
            trainer.TrainEpoch(0);
            return model.Parameters().SelectMany(p => p.Value.ToArray()).ToArray();
        }

        float[] first = Run();
        Assert.That(Run(), Is.EqualTo(first).AsCollection);
    }
}
