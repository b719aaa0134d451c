using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SparseNet.Engine;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Cli.Commands;

/// <summary>What the experiment commands share: progress, interruption, the closing report, list options.</summary>
internal static class ExperimentRunner
{
    /// <summary>
    /// Runs an experiment of <paramref name="units"/> trainings with a progress bar; on Ctrl-C says how to
    /// resume, else prints the report of <paramref name="runDir"/>.
    /// </summary>
    public static int Execute(string runDir, int units, Action<Action<ExperimentProgress>, CancellationToken> run, Func<ExperimentProgress, string> caption)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            // Nothing is printed while the bar is live; a line that must be would go through RunUnits' log.
            ProgressDisplay.RunUnits(units, (update, _) => run(
                p => update(p.UnitsDone, p.Replicate >= 0 ? p.Iteration / (double)Math.Max(1, p.UnitIterations) : 0, p.Replicate >= 0 ? caption(p) : string.Empty),
                CliRunner.Interrupt));
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"interrupted; run the same command again to resume from the last finished training ({runDir})");
            return CliRunner.InterruptExitCode;
        }

        CliRunner.Say(string.Create(CultureInfo.InvariantCulture, $"finished {units} trainings in {clock.Elapsed.TotalSeconds:F0} s"));
        if (DivergenceLine(ReportCommand.Print(runDir)) is { } line)
        {
            Console.Error.WriteLine(line);
        }

        return 0;
    }

    /// <summary>
    /// Validates a configuration (its setting errors become usage errors) and returns the <c>--replicates</c> value,
    /// refused below 1.
    /// </summary>
    public static int Validate(ParseResult parse, Option<int> replicates, Action validate)
    {
        Usage(() =>
        {
            validate();
            return 0;
        });
        int n = parse.GetValue(replicates);
        return n >= 1 ? n : throw new UsageException($"--replicates must be ≥ 1, got {n}");
    }

    /// <summary>
    /// Says what runs (<paramref name="headline"/>) and where, then runs this shard's units with a progress bar and
    /// the closing report (see <see cref="Execute"/>); a shard with no replicate only says so.
    /// </summary>
    public static int Launch(string headline, string runDir, int replicates, Shard shard, int units, Action<Action<ExperimentProgress>, CancellationToken> run, Func<ExperimentProgress, string> caption)
    {
        CliRunner.Say(headline);
        CliRunner.Say($"run directory: {runDir}");
        return AnnounceShard(shard, replicates) ? Execute(runDir, units, run, caption) : 0;
    }

    /// <summary>One line naming the units that diverged and where (the first three), or null when none did.</summary>
    public static string? DivergenceLine(IReadOnlyList<UnitResult> results)
    {
        var diverged = results.Where(u => u.Outcome == UnitResult.Diverged).ToList();
        if (diverged.Count == 0)
        {
            return null;
        }

        string Describe(UnitResult u) => string.Create(CultureInfo.InvariantCulture, $"replicate {u.Replicate} level {u.Level} {u.Branch} at iteration {u.DivergedAtIteration}");
        string more = diverged.Count > 3 ? ", …" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"warning: training diverged in {diverged.Count} of {results.Count} trainings ({string.Join(", ", diverged.Take(3).Select(Describe))}{more}); they are recorded as diverged (marked † in the table), not retried");
    }

    /// <summary>The <c>--shard i/n</c> option the experiment commands share.</summary>
    public static Option<string> ShardOption() => new("--shard")
    {
        Description = "Run only replicates r with r mod n = i, so n processes (a Slurm job array, a Kubernetes Indexed Job) share one run directory; each replicate is locked by the process running it",
        DefaultValueFactory = _ => "0/1",
    };

    /// <summary>Says which replicates a shard runs; false (after saying so) when it has none.</summary>
    public static bool AnnounceShard(Shard shard, int replicates)
    {
        if (shard.Count == 1)
        {
            return true;
        }

        var mine = shard.Replicates(replicates).ToList();
        if (mine.Count == 0)
        {
            CliRunner.Say($"shard {shard}: no replicate to run (replicates are dealt out r mod {shard.Count}; {replicates} replicate(s))");
            return false;
        }

        CliRunner.Say($"shard {shard}: replicate(s) {string.Join(", ", mine)} of {replicates}");
        return true;
    }

    /// <summary>A comma-separated option value as a list (empty for none).</summary>
    public static string[] SplitList(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs <paramref name="f"/>, reporting an invalid value as a usage error.</summary>
    public static T Usage<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (ArgumentException e) when (e is not SettingsException)
        {
            throw new UsageException(e.Message);
        }
    }
}
