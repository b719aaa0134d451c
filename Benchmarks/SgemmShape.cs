using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>One SGEMM case: C[m,n] = op(A)·op(B) with the given layouts.</summary>
public sealed record SgemmShape(string Name, bool TransA, bool TransB, int M, int N, int K)
{
    /// <summary>2·m·n·k: one multiply and one add per inner-product term.</summary>
    public long Flops => 2L * M * N * K;

    /// <summary>The benchmarked cases: squares, then one LeNet-300-100 step at batch 60.</summary>
    public static readonly SgemmShape[] All =
    [
        new("square 256", false, false, 256, 256, 256),
        new("square 512", false, false, 512, 512, 512),
        new("square 1024", false, false, 1024, 1024, 1024),
        new("square 2048", false, false, 2048, 2048, 2048),
        new("fc1 fwd X·W [60x784]x[784x300]", false, false, 60, 300, 784),
        new("fc1 fwd X·Wt [60x784]x[300x784]t", false, true, 60, 300, 784),
        new("fc2 fwd [60x300]x[300x100]", false, false, 60, 100, 300),
        new("fc3 fwd [60x100]x[100x10]", false, false, 60, 10, 100),
        new("fc1 dW [60x300]t x[60x784]", true, false, 300, 784, 60),
        new("fc2 dW [60x100]t x[60x300]", true, false, 100, 300, 60),
        new("fc3 dW [60x10]t x[60x100]", true, false, 10, 100, 60),
        new("fc1 dX [60x300]x[300x784]", false, false, 60, 784, 300),
        new("fc2 dX [60x100]x[100x300]", false, false, 60, 300, 100),
        new("fc3 dX [60x10]x[10x100]", false, false, 60, 100, 10),
    ];

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Random operands for one <see cref="SgemmShape"/>.</summary>
public sealed class SgemmData
{
    private readonly SgemmShape shape;
    private readonly float[] a, b, c;

    public SgemmData(SgemmShape shape)
    {
        this.shape = shape;
        var rng = new Random(42);
        a = Enumerable.Range(0, shape.M * shape.K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        b = Enumerable.Range(0, shape.K * shape.N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        c = new float[shape.M * shape.N];
    }

    public void Run()
    {
        var s = shape;
        Sgemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, a, s.TransA ? s.M : s.K, b, s.TransB ? s.K : s.N, c, s.N, false);
    }
}
