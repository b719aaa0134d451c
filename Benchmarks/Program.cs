using BenchmarkDotNet.Running;

namespace SparseNet.Benchmarks;

internal static class Program
{
    private static void Main(string[] args)
    {
        if (args is ["quick"])
        {
            QuickSgemm.Run();
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
