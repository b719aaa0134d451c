using System.Diagnostics;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

/// <summary>
/// The command as a separate process: signals, FIFOs, and two processes on one run directory killed at random
/// points. Each test is bounded to seconds on tiny synthetic data.
/// </summary>
[NonParallelizable]
[Platform(Exclude = "Win")]
public class ProcessTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-proc-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 120, test: 40, gzip: true);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [TestCase("INT", 130)]
    [TestCase("TERM", 143)]
    public void Train_StopsOnASignal_WithTheSignalsExitCode_AndWritesNothing(string signal, int expected)
    {
        string outDir = Path.Combine(_dir, "out");
        using var p = CliProcess.Start("train", "--data", Path.Combine(_dir, "data"), "--epochs", "100000", "--batch-size", "16", "--out", outDir);
        Assert.That(p.WaitForOutput("epoch   1/", Long), Is.True, "training started");
        var clock = Stopwatch.StartNew();
        p.Signal(signal);
        var (code, _, err) = p.Wait(TimeSpan.FromSeconds(10));
        clock.Stop();
        Assert.That(code, Is.EqualTo(expected), err);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "stops promptly (the bar is 1 s; slack for a loaded machine)");
        Assert.That(err, Does.Contain("interrupted").And.Not.Contain("   at "));
        Assert.That(File.Exists(Path.Combine(outDir, "summary.json")), Is.False);
        Assert.That(File.Exists(Path.Combine(outDir, "final.safetensors")), Is.False);
    }

    [TestCase("INT", 130)]
    [TestCase("TERM", 143)]
    public void AFifoAsADataFile_CanBeInterrupted(string signal, int expected)
    {
        string data = Path.Combine(_dir, "data");
        string labels = Path.Combine(data, "t10k-labels-idx1-ubyte.gz");
        File.Delete(labels);
        using (var mk = Process.Start(new ProcessStartInfo("mkfifo", labels) { UseShellExecute = false })!)
        {
            mk.WaitForExit();
            Assume.That(mk.ExitCode, Is.Zero, "mkfifo is available");
        }

        foreach (string[] args in new[] { new[] { "train", "--out", Path.Combine(_dir, "o") }, new[] { "lottery", "--validation-size", "24", "--root", Path.Combine(_dir, "r") } })
        {
            using var p = CliProcess.Start([.. args, "--data", data]);
            Thread.Sleep(1500);
            Assert.That(p.HasExited, Is.False, "blocked on the FIFO");
            var clock = Stopwatch.StartNew();
            p.Signal(signal);
            var (code, _, err) = p.Wait(TimeSpan.FromSeconds(10));
            Assert.That(code, Is.EqualTo(expected), $"{args[0]}: {err}");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), args[0]);
            Assert.That(err, Does.Not.Contain("   at "));
        }
    }

    [Test]
    public void TwoProcessesOnOneRunDirectory_KilledAtRandomPoints_EndByteIdenticalToAnUninterruptedRun()
    {
        string root = Path.Combine(_dir, "runs"), reference = Path.Combine(_dir, "reference");
        string[] Args(string r) =>
        [
            "lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "24", "--epochs", "60", "--batch-size", "8",
            "--levels", "3", "--eval-every", "3", "--branches", "random_prune", "--root", r,
        ];

        var uninterrupted = CliTests.Run(Args(reference));
        Assert.That(uninterrupted.Code, Is.Zero, uninterrupted.Err);

        var random = new Random(20261125);
        int refused = 0, finished = 0, killed = 0;
        for (int round = 0; round < 8; round++)
        {
            using var a = CliProcess.Start(Args(root));
            using var b = CliProcess.Start(Args(root));
            var victims = (round % 4) switch { 0 or 2 => new[] { a, b }, 1 => [a], _ => [] };
            if (victims.Length > 0)
            {
                Thread.Sleep(random.Next(250, 900));
                foreach (var v in victims)
                {
                    killed += v.HasExited ? 0 : 1;
                    v.KillHard();
                }
            }

            foreach (var p in new[] { a, b })
            {
                var (code, _, err) = p.Wait(Long);
                if (victims.Contains(p))
                {
                    continue;
                }

                // A process that was not killed either finished or was turned away by the lock; nothing else
                // (no missing temporary file, no damaged unit) may happen to it.
                if (code == 1)
                {
                    Assert.That(err, Does.Contain("is in use by pid").And.Contain(root), $"round {round}");
                    Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), err);
                    refused++;
                }
                else
                {
                    Assert.That(code, Is.Zero, $"round {round}: {err}");
                    finished++;
                }
            }
        }

        var last = CliTests.Run(Args(root));
        Assert.That(last.Code, Is.Zero, last.Err);
        Assert.That(refused, Is.GreaterThan(0), "some rounds ran both processes at once");
        Assert.That(finished, Is.GreaterThan(0));
        TestContext.Out.WriteLine($"{killed} kills, {refused} refusals, {finished} finished runs");

        string runA = Directory.GetDirectories(root).Single(), runB = Directory.GetDirectories(reference).Single();
        Assert.That(Path.GetFileName(runA), Is.EqualTo(Path.GetFileName(runB)));
        var expected = Files(runB);
        var actual = Files(runA);
        Assert.That(actual.Keys.Where(k => k.EndsWith(".tmp", StringComparison.Ordinal)), Is.Empty, "no temporary file is left");
        Assert.That(actual.Keys.Order(StringComparer.Ordinal), Is.EqualTo(expected.Keys.Order(StringComparer.Ordinal)));
        var differing = expected.Where(kv => !kv.Value.AsSpan().SequenceEqual(actual[kv.Key])).Select(kv => kv.Key).ToList();
        Assert.That(differing, Is.Empty, "files that differ from the uninterrupted run");
    }

    [Test]
    public void ThreeShardsRunningAtOnce_EndWithTheFilesOfOneProcessRunningTheWholeGrid()
    {
        string root = Path.Combine(_dir, "sharded"), reference = Path.Combine(_dir, "whole");
        string[] Args(string r, params string[] extra) =>
        [
            "lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "24", "--epochs", "2", "--batch-size", "8",
            "--levels", "3", "--eval-every", "3", "--branches", "random_prune", "--replicates", "3", "--root", r, .. extra,
        ];

        var whole = CliTests.Run(Args(reference));
        Assert.That(whole.Code, Is.Zero, whole.Err);

        var shards = Enumerable.Range(0, 3).Select(i => CliProcess.Start(Args(root, "--shard", $"{i}/3"))).ToList();
        try
        {
            foreach (var (shard, i) in shards.Select((s, i) => (s, i)))
            {
                var (code, output, err) = shard.Wait(Long);
                Assert.That(code, Is.Zero, $"shard {i}/3: {err}");
                Assert.That(output, Does.Contain($"shard {i}/3: replicate(s) {i} of 3"));
            }
        }
        finally
        {
            shards.ForEach(s => s.Dispose());
        }

        string runA = Directory.GetDirectories(root).Single(), runB = Directory.GetDirectories(reference).Single();
        Assert.That(Path.GetFileName(runA), Is.EqualTo(Path.GetFileName(runB)));
        var expected = Files(runB);
        var actual = Files(runA);
        Assert.That(actual.Keys.Order(StringComparer.Ordinal), Is.EqualTo(expected.Keys.Order(StringComparer.Ordinal)));
        var differing = expected.Where(kv => !kv.Value.AsSpan().SequenceEqual(actual[kv.Key])).Select(kv => kv.Key).ToList();
        Assert.That(differing, Is.Empty, "files that differ from the single process's");
    }

    // Every file of a run except the lock's own two, which name the process that held it, and the units' wall-clock records.
    private static Dictionary<string, byte[]> Files(string run) =>
        Directory.GetFiles(run, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) is not (".lock" or ".lock-holder" or "time.json"))
            .ToDictionary(f => Path.GetRelativePath(run, f), File.ReadAllBytes, StringComparer.Ordinal);
}
