namespace SparseNet.Tests;

/// <summary>What each shipped assembly may depend on.</summary>
public class PackagingTests
{
    [TestCase(typeof(SparseNet.Kernels.Cpu.Sgemm))]
    [TestCase(typeof(SparseNet.Engine.Tensors.Tensor))]
    [TestCase(typeof(SparseNet.Pruning.Masks.MaskSet))]
    public void OnlyReportingDrawsPlots(Type inAssembly)
    {
        var references = inAssembly.Assembly.GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToList();
        Assert.That(references.Where(n => n.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public void TheBuiltInDataIsEmbeddedInTheEngine()
    {
        var names = typeof(SparseNet.Engine.Tensors.Tensor).Assembly.GetManifestResourceNames();
        Assert.That(names, Has.Some.EndsWith("train-images-idx3-ubyte.gz").And.Some.EndsWith("README.md"));
    }

    [Test]
    public void TheReadmesEmbeddingSection_IsTheSamplesCode()
    {
        string repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));
        string sample = File.ReadAllText(Path.Combine(repo, "samples", "EmbedLottery", "Program.cs")).Trim();
        Assert.That(File.ReadAllText(Path.Combine(repo, "README.md")), Does.Contain(sample));
    }
}
