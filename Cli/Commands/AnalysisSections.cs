using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary>The analysis sections of <c>sparsenet report</c>: generalisation from the unit results, and gradient flow when analysed.</summary>
internal static class AnalysisSections
{
    /// <summary>Writes the sections' plots into the run directory (called under its lock); returns the paths written.</summary>
    public static IReadOnlyList<string> WritePlots(IReadOnlyList<UnitResult> results, string runDirectory)
    {
        var written = new List<string>(GeneralizationReport.WritePlots(Generalization.Summarize(Shown(results), runDirectory), runDirectory));
        if (TryReadGradientFlow(runDirectory, out var flow, out _) && flow is not null)
        {
            written.AddRange(GradientFlowReport.WritePlots(flow, runDirectory, b => !SanityTable.IsSanityBranch(b)));
        }

        return written;
    }

    /// <summary>Prints the sections' tables, each after a blank line (<paramref name="afterBlankLine"/>: the output so far ends with one).</summary>
    public static void Print(IReadOnlyList<UnitResult> results, string runDirectory, bool afterBlankLine)
    {
        if (!afterBlankLine)
        {
            CliRunner.Say(string.Empty);
        }

        CliRunner.Say(GeneralizationReport.Format(Generalization.Summarize(Shown(results), runDirectory)));
        if (!TryReadGradientFlow(runDirectory, out var flow, out string? problem))
        {
            CliRunner.Say($"gradient flow: {problem}");
            return;
        }

        if (flow is null)
        {
            return;
        }

        CliRunner.Say(GradientFlowReport.Format(flow).TrimEnd());
        int missing = results.Count - results.Count(r => flow.Units.Any(u => u.Branch == r.Branch && u.Replicate == r.Replicate && u.Level == r.Level));
        if (missing > 0)
        {
            CliRunner.Say($"({missing} finished unit(s) are not in {GradientFlowResults.FileName}; run `sparsenet analyze gradient-flow {runDirectory}` again to measure them)");
        }
    }

    // IMP baselines and methods; sanity checks have a table of their own in the main report.
    private static List<UnitResult> Shown(IReadOnlyList<UnitResult> results) => results.Where(r => !SanityTable.IsSanityBranch(r.Branch)).ToList();

    // A damaged gradient_flow.json is reported, not fatal: the rest of the report stands without it.
    private static bool TryReadGradientFlow(string runDirectory, out GradientFlowResults? flow, out string? problem)
    {
        try
        {
            flow = GradientFlowResults.Read(runDirectory);
            problem = null;
            return true;
        }
        catch (InvalidDataException e)
        {
            flow = null;
            problem = e.Message;
            return false;
        }
    }
}
