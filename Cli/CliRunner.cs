using System.CommandLine;
using System.Runtime.InteropServices;
using SparseNet.Engine;

namespace SparseNet.Cli;

/// <summary>Parses and runs a command line; turns every failure into one line on stderr and a non-zero exit.</summary>
internal static class CliRunner
{
    /// <summary>Exit code for bad usage (unknown option, invalid value, settings that make no sense).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running (bad data file, I/O error, a run directory in use).</summary>
    public const int RunError = 1;

    /// <summary>Exit code after SIGINT (Ctrl-C): 128 + 2, as shells report it.</summary>
    public const int InterruptedBySigint = 130;

    /// <summary>Exit code after SIGTERM: 128 + 15.</summary>
    public const int InterruptedBySigterm = 143;

    // How long a command may take to stop by itself after a signal before the process exits without it
    // (a read blocked in the kernel, e.g. on a FIFO nobody writes, never returns).
    private static readonly TimeSpan StopGrace = TimeSpan.FromMilliseconds(500);

    // The interruption of the command line being run, flowing to the worker that runs its command.
    private static readonly AsyncLocal<Interruption?> Current = new();

    /// <summary>Cancelled when the user interrupts the process (Ctrl-C or SIGTERM).</summary>
    public static CancellationToken Interrupt => Current.Value?.Token ?? CancellationToken.None;

    /// <summary>The exit code for the signal that cancelled <see cref="Interrupt"/> (130 for SIGINT, 143 for SIGTERM).</summary>
    public static int InterruptExitCode => Current.Value?.Code ?? InterruptedBySigint;

    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(SplitEmptyAssignments(args));
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors.Take(1))
            {
                Console.Error.WriteLine($"error: {OneLine(error.Message)} (see --help)");
            }

            return UsageError;
        }

        // Ctrl-C and SIGTERM cancel the work (long commands stop between iterations and say how to resume)
        // instead of killing the process in the middle of a message.
        using var interrupt = new Interruption();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, interrupt.Signal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, interrupt.Signal);
        Current.Value = interrupt;
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };

        // The command runs on a worker so that a signal is answered even while it is stuck in a call that
        // cannot be cancelled (opening a FIFO blocks in the kernel until a writer appears). Commands check the
        // token between iterations and while reading; one that does not stop within the grace period is left
        // behind, and the process exits with the signal's code: every file is written to a temporary name
        // and renamed into place, so nothing partial is left under a final name.
        var work = Task.Run(() => Invoke(parse, config));
        try
        {
            work.Wait(interrupt.Token);
            return work.Result;
        }
        catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
        {
            if (work.Wait(StopGrace))
            {
                return work.Result;
            }

            ProgressDisplay.Abandon();
            Console.Error.WriteLine("interrupted");
            return interrupt.Code;
        }
    }

    /// <summary>Writes one line of plain text to stdout (never wrapped or coloured, so logs stay greppable).</summary>
    public static void Say(string line) => Console.Out.WriteLine(line);

    /// <summary>The one-line form of an error message.</summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static int Invoke(ParseResult parse, InvocationConfiguration config)
    {
        try
        {
            return parse.Invoke(config);
        }
        catch (OperationCanceledException) when (Interrupt.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted; nothing partial was written");
            return InterruptExitCode;
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : e;
            string message = inner is ArgumentException { ParamName: { } name } ? inner.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : inner.Message;
            if (inner is OutOfMemoryException)
            {
                message = $"out of memory: {message}";
            }

            Console.Error.WriteLine($"error: {OneLine(message)}");

            // Only a user's settings and options are usage errors; any other argument error is a failure of
            // the run (possibly a bug), not something the user can fix by changing the command line.
            return inner is SettingsException or UsageException ? UsageError : RunError;
        }
    }

    // "--branches=" (an option given an empty value) would otherwise take the next token as its value.
    private static string[] SplitEmptyAssignments(string[] args)
    {
        var result = new List<string>(args.Length);
        foreach (string a in args)
        {
            if (a.Length > 3 && a.StartsWith("--", StringComparison.Ordinal) && a.EndsWith('=') && a.IndexOf('=', StringComparison.Ordinal) == a.Length - 1)
            {
                result.Add(a[..^1]);
                result.Add(string.Empty);
            }
            else
            {
                result.Add(a);
            }
        }

        return [.. result];
    }

    /// <summary>The first SIGINT or SIGTERM: cancels the token and decides the exit code.</summary>
    private sealed class Interruption : IDisposable
    {
        private readonly CancellationTokenSource _source = new();

        public CancellationToken Token => _source.Token;

        public int Code { get; private set; } = InterruptedBySigint;

        // The process is not killed: the command sees the token, stops, and exits with the code.
        public void Signal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!_source.IsCancellationRequested)
            {
                Code = context.Signal == PosixSignal.SIGTERM ? InterruptedBySigterm : InterruptedBySigint;
                _source.Cancel();
            }
        }

        public void Dispose() => _source.Dispose();
    }
}
