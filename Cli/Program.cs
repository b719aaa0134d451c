using System.CommandLine;
using SparseNet.Cli.Commands;

namespace SparseNet.Cli;

internal static class Program
{
    private static int Main(string[] args) => Run(args);

    /// <summary>Runs the command line (also the entry point for tests).</summary>
    internal static int Run(string[] args)
    {
        var root = new RootCommand("SparseNet: find lottery tickets, sparse subnetworks that train to the accuracy of the dense network.")
        {
            LotteryCommand.Create(),
            InstabilityCommand.Create(),
            SupermaskCommand.Create(),
            PruneAtInitCommand.Create(),
            TrainCommand.Create(),
            ReportCommand.Create(),
            ExportCommand.Create(),
            BenchTicketCommand.Create(),
            AnalyzeCommand.Create(),
        };
        return CliRunner.Run(root, args);
    }
}
