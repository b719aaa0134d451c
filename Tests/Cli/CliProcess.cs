using System.Diagnostics;

namespace SparseNet.Tests.Cli;

/// <summary>Runs the sparsenet command as a separate process (for tests of signals, locks and kills).</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stdout = new();
    private readonly Task<string> _stderr;
    private readonly Task _reader;

    private CliProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _reader = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                lock (_stdout)
                {
                    _stdout.Append(line).Append('\n');
                }
            }
        });
    }

    /// <summary>What the process has printed to stdout so far.</summary>
    public string Output
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>sparsenet</c> (the build beside the tests) with <paramref name="args"/>.</summary>
    public static CliProcess Start(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "sparsenet.dll");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_TieredPGO"] = "0";
        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start sparsenet"));
    }

    /// <summary>Sends a POSIX signal (INT, TERM) with the system's kill command.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{name} {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>SIGKILL, as <c>kill -9</c>.</summary>
    public void KillHard()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Waits for the exit (killing it after <paramref name="timeout"/>); returns the code and output.</summary>
    public (int Code, string Out, string Err) Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            KillHard();
            _process.WaitForExit();
            _reader.Wait();
            return (-1, Output, _stderr.Result + "\n(timed out)");
        }

        _process.WaitForExit();
        _reader.Wait();
        return (_process.ExitCode, Output, _stderr.Result);
    }

    /// <summary>Waits until stdout holds <paramref name="text"/> (false on exit or timeout).</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && !_process.HasExited)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            Thread.Sleep(10);
        }

        return Output.Contains(text, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
