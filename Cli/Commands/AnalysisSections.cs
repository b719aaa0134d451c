using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Cli.Commands;

/// <summary>
/// The analysis sections of <c>sparsenet report</c>: generalisation from the unit results, and gradient flow when
/// analysed. Each is read once (<see cref="Read"/>, under the run directory's lock) and then drawn and printed.
/// </summary>
internal sealed class AnalysisSections
{
    private readonly IReadOnlyList<UnitResult> _results;
    private readonly string _runDirectory;
    private readonly IReadOnlyList<GeneralizationPoint> _generalization;
    private readonly GradientFlowResults? _flow;
    private readonly string? _flowProblem;

    private AnalysisSections(IReadOnlyList<UnitResult> results, string runDirectory)
    {
        _results = results;
        _runDirectory = runDirectory;

        // IMP baselines and methods; sanity checks have a table of their own in the main report.
        _generalization = Generalization.Summarize(results.Where(r => !SanityTable.IsSanityBranch(r.Branch)).ToList(), runDirectory);

        // A damaged gradient_flow.json is reported, not fatal: the rest of the report stands without it.
        try
        {
            _flow = GradientFlowResults.Read(runDirectory);
        }
        catch (InvalidDataException e)
        {
            _flowProblem = e.Message;
        }
    }

    /// <summary>Reads the sections of a run whose unit results are <paramref name="results"/>.</summary>
    public static AnalysisSections Read(IReadOnlyList<UnitResult> results, string runDirectory) => new(results, runDirectory);

    /// <summary>Writes the sections' plots into the run directory (called under its lock); returns the paths written.</summary>
    public IReadOnlyList<string> WritePlots()
    {
        var written = new List<string>(GeneralizationReport.WritePlots(_generalization, _runDirectory));
        if (_flow is not null)
        {
            written.AddRange(GradientFlowReport.WritePlots(_flow, _runDirectory, b => !SanityTable.IsSanityBranch(b)));
        }

        return written;
    }

    /// <summary>Prints the sections' tables, each after a blank line (<paramref name="afterBlankLine"/>: the output so far ends with one).</summary>
    public void Print(bool afterBlankLine)
    {
        if (!afterBlankLine)
        {
            CliRunner.Say(string.Empty);
        }

        CliRunner.Say(GeneralizationReport.Format(_generalization));
        if (_flowProblem is not null)
        {
            CliRunner.Say($"gradient flow: {_flowProblem}");
            return;
        }

        if (_flow is null)
        {
            return;
        }

        CliRunner.Say(GradientFlowReport.Format(_flow).TrimEnd());
        int missing = _results.Count - _results.Count(r => _flow.Units.Any(u => u.Branch == r.Branch && u.Replicate == r.Replicate && u.Level == r.Level));
        if (missing > 0)
        {
            CliRunner.Say($"({missing} finished unit(s) are not in {GradientFlowResults.FileName}; run `sparsenet analyze gradient-flow {_runDirectory}` again to measure them)");
        }
    }
}
