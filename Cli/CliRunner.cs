using System.CommandLine;
using System.Runtime.InteropServices;

namespace SparseNet.Cli;

/// <summary>Parses and runs a command line; turns every failure into one line on stderr and a non-zero exit.</summary>
internal static class CliRunner
{
    /// <summary>Exit code for bad usage (unknown option, invalid value).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running (bad data file, I/O error).</summary>
    public const int RunError = 1;

    /// <summary>Cancelled when the user interrupts the process (Ctrl-C or SIGTERM).</summary>
    public static CancellationToken Interrupt { get; private set; }

    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
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
        using var interrupt = new CancellationTokenSource();
        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            interrupt.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        Interrupt = interrupt.Token;
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : e;
            string message = inner is ArgumentException { ParamName: { } name } ? inner.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : inner.Message;
            Console.Error.WriteLine($"error: {OneLine(message)}");
            return inner is ArgumentException or UsageException ? UsageError : RunError;
        }
    }

    /// <summary>Writes one line of plain text to stdout (never wrapped or coloured, so logs stay greppable).</summary>
    public static void Say(string line) => Console.Out.WriteLine(line);

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
