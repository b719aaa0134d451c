using System.CommandLine;

namespace SparseNet.Cli;

/// <summary>Parses and runs a command line; turns every failure into one line on stderr and a non-zero exit.</summary>
internal static class CliRunner
{
    /// <summary>Exit code for bad usage (unknown option, invalid value).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running (bad data file, I/O error).</summary>
    public const int RunError = 1;

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

        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
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
