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

        // The GPU benchmarks are left out, with the reason said once, where the machine has no GPU.
        var types = typeof(Program).Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsPublic: true } && t.GetMethods().Any(m => m.IsDefined(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), false)));
        if (GpuDevice.Device is null)
        {
            Console.Error.WriteLine(GpuDevice.Missing);
            types = types.Where(t => !t.IsDefined(typeof(NeedsGpuAttribute), false));
        }
        else
        {
            Console.Error.WriteLine($"GPU benchmarks on {GpuDevice.Describe()}");
        }

        BenchmarkSwitcher.FromTypes([.. types]).Run(args);
    }
}
