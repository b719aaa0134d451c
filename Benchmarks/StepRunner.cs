using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Benchmarks;

/// <summary>
/// One training step of a model on a fixed batch, exactly as <c>Trainer.Step</c> runs it: forward, softmax
/// cross-entropy, backward and the optimizer, activations recycled by a TensorArena.
/// </summary>
internal sealed class StepRunner(Module model, Optimizer optimizer, Tensor input, int[] labels)
{
    private readonly TensorArena _arena = new();

    /// <summary>A uniform random batch [batch, ..shape] in [0, 1) from <paramref name="rng"/> and labels 0, 1, …, 9, 0, ….</summary>
    public static (Tensor Input, int[] Labels) RandomBatch(Philox rng, int batch, int[] shape)
    {
        var x = new float[batch * shape.Aggregate(1, (a, b) => a * b)];
        rng.FillUniform(x, 0f, 1f);
        return (Tensor.FromArray(x, [batch, .. shape]), Enumerable.Range(0, batch).Select(i => i % 10).ToArray());
    }

    /// <summary>Takes one step; returns the loss.</summary>
    public float Run()
    {
        optimizer.ZeroGrad();
        float value;
        using (_arena.Enter())
        {
            var loss = Tensor.SoftmaxCrossEntropy(model.Forward(input), labels);
            value = loss.Item();
            Gradients.Backward(loss);
        }

        optimizer.Step();
        return value;
    }
}
