using Spectre.Console;

namespace SparseNet.Cli;

/// <summary>A live progress bar on a terminal; plain output (no bar) when stdout is redirected.</summary>
internal static class ProgressDisplay
{
    /// <summary>
    /// Runs <paramref name="work"/> with a callback that advances the bar by one step and sets its caption.
    /// </summary>
    public static void Run(string title, int totalSteps, Action<Action<string>> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            work(_ => { });
            return;
        }

        AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: Math.Max(1, totalSteps));
                int pending = 0;
                work(caption =>
                {
                    // Redrawing on every iteration costs more than the iteration itself; batch the updates.
                    if (++pending >= 20)
                    {
                        task.Description = Markup.Escape(caption);
                        task.Increment(pending);
                        pending = 0;
                    }
                });
                task.Increment(pending);
            });
    }
}
