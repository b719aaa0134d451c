using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Autograd;

namespace SparseNet.Tests.Engine.Nn;

/// <summary>Backward adds matmul gradients straight into kept parameter buffers; these must equal the plain path.</summary>
public class GradientBufferTests
{
    private static Tensor Random(int seed, params int[] shape)
    {
        var rng = new System.Random(seed);
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return Tensor.FromArray(data, shape);
    }

    [Test]
    public void ZeroGrad_ClearsTheGradient_AndTheNextBackwardWritesIntoTheKeptBuffer()
    {
        var layer = new Linear(7, 5);
        layer.Weight.Value.CopyFrom(Random(1, 5, 7));
        var sgd = new Sgd(layer.Parameters(), 0.1f);
        var x = Random(2, 3, 7);

        Gradients.Backward(layer.Forward(x).Tanh().Sum());
        var buffer = layer.Weight.Grad!;
        float[] first = buffer.ToArray();

        sgd.ZeroGrad();
        Assert.That(layer.Weight.Grad, Is.Null);

        Gradients.Backward(layer.Forward(x).Tanh().Sum());
        Assert.That(layer.Weight.Grad, Is.SameAs(buffer), "no new buffer");
        Assert.That(buffer.ToArray(), Is.EqualTo(first));

        Gradients.Backward(layer.Forward(x).Tanh().Sum());
        Assert.That(buffer.ToArray(), Is.EqualTo(first.Select(v => v * 2).ToArray()), "without ZeroGrad gradients add up");

        sgd.ZeroGrad(releaseBuffers: true);
        Gradients.Backward(layer.Forward(x).Tanh().Sum());
        Assert.That(layer.Weight.Grad, Is.Not.SameAs(buffer));
        Assert.That(layer.Weight.Grad!.ToArray(), Is.EqualTo(first));
    }

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void AccumulatingIntoBuffers_MatchesFreshGradients_ForEveryTransposeAndSharedUse(bool ta, bool tb)
    {
        // w is used twice (left and right operand) and a is used once, each in every layout.
        var w = Random(3, 4, 4);
        var a = Random(4, 4, 4);
        w.RequiresGrad = true;
        a.RequiresGrad = true;
        Tensor Loss() => (Tensor.MatMul(w, a, ta, tb).Sigmoid() + Tensor.MatMul(a, w, tb, ta).Square()).Sum();

        Gradients.Backward(Loss());
        float[] freshW = w.Grad!.ToArray(), freshA = a.Grad!.ToArray();

        // Once with the gradients present (added to), once cleared with their buffers kept (overwritten).
        w.Grad.Fill(0f);
        a.Grad.Fill(0f);
        Gradients.Backward(Loss());
        Assert.That(w.Grad.ToArray(), Is.EqualTo(freshW).Within(1e-6f));
        Assert.That(a.Grad.ToArray(), Is.EqualTo(freshA).Within(1e-6f));

        var wp = new Parameter(w);
        var ap = new Parameter(a);
        wp.ClearGrad();
        ap.ClearGrad();
        Gradients.Backward(Loss());
        Assert.That(w.Grad.ToArray(), Is.EqualTo(freshW).Within(1e-6f));
        Assert.That(a.Grad.ToArray(), Is.EqualTo(freshA).Within(1e-6f));
    }
}
