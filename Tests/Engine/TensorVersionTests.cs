using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>
/// A tensor's write count moves with every public way of changing its values and with nothing that only reads them,
/// so a structure built from a mask can tell when the mask changed.
/// </summary>
public class TensorVersionTests
{
    [Test]
    public void EveryMutator_AdvancesTheVersion()
    {
        var t = Tensor.FromArray([1f, 0f, 1f], 3);
        var steps = new (string What, Action Write)[]
        {
            ("span", () => t.Span[0] = 0f),
            ("fill", () => t.Fill(1f)),
            ("copy", () => t.CopyFrom(Tensor.FromArray([0f, 1f, 1f], 3))),
            ("add", () => t.AddInPlace(Tensor.Ones(3))),
            ("mul", () => t.MulInPlace(Tensor.Zeros(3))),
        };
        foreach (var (what, write) in steps)
        {
            long before = t.Version;
            write();
            Assert.That(t.Version, Is.GreaterThan(before), what);
        }
    }

    [Test]
    public void Reads_LeaveTheVersion()
    {
        var t = Tensor.FromArray([1f, 0f, 1f], 3);
        long before = t.Version;
        _ = t.ToArray();
        _ = t.Sum().Item();
        _ = (t * 2f).ToArray();
        _ = t.KthSmallest(1);
        Assert.That(t.Version, Is.EqualTo(before));
    }

    [Test]
    public void AnOptimizerStep_AdvancesTheParametersVersion()
    {
        var p = new Parameter(Tensor.FromArray([1f, 2f], 2)) { Grad = Tensor.FromArray([0.5f, -0.5f], 2) };
        long before = p.Value.Version;
        new Sgd([p], 0.1f).Step();
        Assert.That(p.Value.Version, Is.GreaterThan(before));
    }
}
