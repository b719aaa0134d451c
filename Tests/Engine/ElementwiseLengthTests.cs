using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>Elementwise ops with hand-vectorised paths, at every length 0–256 (vector bodies and tails).</summary>
public class ElementwiseLengthTests
{
    [Test]
    public void WherePositive_EveryLength_MatchesTheScalarRule()
    {
        var rng = new System.Random(5);
        for (int n = 0; n <= 256; n++)
        {
            var a = Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var c = Enumerable.Range(0, n).Select(i => i % 7 == 0 ? 0f : (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var result = Tensor.FromArray(a, n).WherePositive(Tensor.FromArray(c, n)).ToArray();
            Assert.That(result, Is.EqualTo(a.Select((x, i) => c[i] > 0f ? x : 0f).ToArray()), $"n = {n}");
        }
    }

    [Test]
    public void ReluAndStep_EveryLength_MatchTheScalarRule()
    {
        var rng = new System.Random(6);
        for (int n = 0; n <= 256; n++)
        {
            var a = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? 0f : (float)((rng.NextDouble() * 2) - 1)).ToArray();
            var t = Tensor.FromArray(a, n);
            Assert.That(t.Relu().ToArray(), Is.EqualTo(a.Select(x => Math.Max(x, 0f)).ToArray()), $"relu, n = {n}");
            Assert.That(t.StepMask().ToArray(), Is.EqualTo(a.Select(x => x > 0f ? 1f : 0f).ToArray()), $"step, n = {n}");
        }
    }
}
