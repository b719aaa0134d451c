using ILGPU.Runtime;

namespace SparseNet.Tests.Kernels.Gpu;

[TestFixtureSource(typeof(TestAccelerators), nameof(TestAccelerators.Names))]
public class FillKernelTests(string accelerator)
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1000)]
    public void Fill_WritesEveryElement(int n)
    {
        var k = TestAccelerators.Get(accelerator);
        using var buffer = k.Accelerator.Allocate1D(Enumerable.Repeat(-1f, n + 3).ToArray());
        k.Fill(buffer.View.SubView(1, n), 2.5f);
        float[] got = buffer.GetAsArray1D();
        Assert.That(got, Is.EqualTo(new[] { -1f }.Concat(Enumerable.Repeat(2.5f, n)).Concat([-1f, -1f])));
    }
}
