using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SparseNet.Benchmarks;
using SparseNet.Engine.Devices;

namespace SparseNet.GpuCheck;

/// <summary>
/// <c>sparsenet-gpu-check</c>: on a machine with a GPU (and no .NET SDK: it is published self-contained), checks every
/// backend primitive on the GPU against the CPU, runs the GPU benchmarks in-process, and runs one LeNet-300-100 lottery
/// level on the GPU and on the CPU; prints a table naming the device. Exit 0 when every check passed and the lottery
/// accuracies agree.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        string choice = "auto";
        bool bench = true, lottery = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device" when i + 1 < args.Length:
                    choice = args[++i];
                    break;
                case "--no-bench":
                    bench = false;
                    break;
                case "--no-lottery":
                    lottery = false;
                    break;
                case "-h" or "--help":
                    Console.WriteLine("usage: sparsenet-gpu-check [--device cuda|opencl|ilgpu-cpu|auto] [--no-bench] [--no-lottery]");
                    return 0;
                default:
                    Console.Error.WriteLine($"error: unknown argument '{args[i]}' (see --help)");
                    return 2;
            }
        }

        Device device;
        try
        {
            device = AcceleratorDevices.Resolve(choice);
        }
        catch (DeviceUnavailableException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        if (device == Device.Cpu)
        {
            Console.Error.WriteLine("error: no GPU found (CUDA or OpenCL 2.0+); nothing to check. --device ilgpu-cpu runs the checks on ILGPU's CPU accelerator");
            return 2;
        }

        Environment.SetEnvironmentVariable("SPARSENET_GPU", device.Name);
        bool large = device.Name != "ilgpu-cpu";
        Console.WriteLine($"device: {GpuDevice.Describe()}");
        if (!large && (bench || lottery))
        {
            // The CPU accelerator runs each tiled kernel group as 256 threads meeting at barriers: a 4096² SGEMM or a
            // lottery level would take hours there.
            Console.WriteLine("ilgpu-cpu: the checks run at the small sizes only; the benchmarks and the lottery level are skipped");
            bench = lottery = false;
        }

        Console.WriteLine($"host:   {Device.Cpu.Description}");
        Console.WriteLine();

        bool ok = true;
        Console.WriteLine($"{"check",-42} {"result",-6} {"worst/tol",10} {"seconds",8}  worst at");
        foreach (var outcome in BackendChecks.All(device, large))
        {
            ok &= outcome.Passed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{outcome.Name,-42} {(outcome.Passed ? "pass" : "FAIL"),-6} {outcome.WorstRatio,10:G3} {outcome.Seconds,8:F2}  {outcome.Detail}"));
        }

        Console.WriteLine();
        if (bench)
        {
            // In-process: the published runner has no SDK to build BenchmarkDotNet's usual child projects.
            var config = ManualConfig.CreateMinimumViable()
                .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
                .WithOptions(ConfigOptions.DisableLogFile);
            BenchmarkRunner.Run([
                BenchmarkConverter.TypeToBenchmarks(typeof(GpuSgemmBenchmark), config),
                BenchmarkConverter.TypeToBenchmarks(typeof(GpuConvBenchmark), config),
                BenchmarkConverter.TypeToBenchmarks(typeof(GpuSelectBenchmark), config),
            ]);
        }

        if (lottery)
        {
            ok &= Lottery(device);
        }

        Console.WriteLine(ok ? "gpu check: all passed" : "gpu check: FAILED");
        return ok ? 0 : 1;
    }

    // One LeNet-300-100 lottery level (the dense training and one pruned one) on the device and on the CPU.
    private static bool Lottery(Device device)
    {
        string root = Path.Combine(Path.GetTempPath(), $"sparsenet-gpu-check-{Environment.ProcessId}");
        try
        {
            var rows = new List<(string Device, double Seconds, double[] Accuracy)>();
            foreach (var d in new[] { device, Device.Cpu })
            {
                var clock = Stopwatch.StartNew();
                int code = Cli.Program.Run(["lottery", "--levels", "2", "--device", d.Name, "--root", Path.Combine(root, d.Name)]);
                clock.Stop();
                if (code != 0)
                {
                    Console.WriteLine($"lottery on {d.Name}: exit {code}");
                    return false;
                }

                string summary = Directory.GetFiles(Path.Combine(root, d.Name), "summary.json", SearchOption.AllDirectories).Single();
                using var json = JsonDocument.Parse(File.ReadAllText(summary));
                double[] accuracy = json.RootElement.GetProperty("branches").GetProperty("lottery").EnumerateArray().Select(l => l.GetProperty("test_accuracy").GetDouble()).ToArray();
                rows.Add((d.Description, clock.Elapsed.TotalSeconds, accuracy));
            }

            Console.WriteLine();
            Console.WriteLine($"{"lottery, lenet_300_100, mnist-10k",-48} {"seconds",8} {"level 0 acc",12} {"level 1 acc",12}");
            foreach (var (name, seconds, accuracy) in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-48} {seconds,8:F1} {accuracy[0] * 100,11:F2}% {accuracy[1] * 100,11:F2}%"));
            }

            // Two devices round differently, so the runs part after the first steps; within noise means within the
            // spread of seeds on one device (about 0.3 points for LeNet on mnist-10k): 0.5 points is the bar.
            double worst = rows[0].Accuracy.Zip(rows[1].Accuracy, (a, b) => Math.Abs(a - b)).Max();
            bool same = worst <= 0.005;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy difference {worst * 100:F2} points ({(same ? "within" : "OVER")} 0.5); speed-up {rows[1].Seconds / rows[0].Seconds:F2}× over the CPU"));
            return same;
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
