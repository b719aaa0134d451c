using BenchmarkDotNet.Running;

namespace SparseNet.Benchmarks;

internal static class Program
{
    private static void Main(string[] args)
    {
        if (args is ["quick", ..])
        {
            QuickSgemm.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 0);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
