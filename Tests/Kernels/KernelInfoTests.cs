using SparseNet.Kernels;

namespace SparseNet.Tests.Kernels;

public class KernelInfoTests
{
    [Test]
    public void VectorWidth_IsAPowerOfTwo() => Assert.That(KernelInfo.VectorWidth & (KernelInfo.VectorWidth - 1), Is.Zero);
}
