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

    /// <summary>
    /// Runs <paramref name="work"/>, whose callback reports (units done, fraction of the current unit, caption);
    /// the bar shows units done plus the current unit's fraction. Without a terminal, prints a line per finished unit.
    /// </summary>
    public static void RunUnits(int totalUnits, Action<Action<int, double, string>> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            int lastDone = 0;
            work((done, _, _) =>
            {
                if (done != lastDone)
                {
                    lastDone = done;
                    Console.Out.WriteLine($"  {done}/{totalUnits} trainings done");
                }
            });
            return;
        }

        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: Math.Max(1, totalUnits));
                int calls = 0;
                work((done, fraction, caption) =>
                {
                    // Redrawing on every iteration costs more than the iteration itself; update now and then.
                    if (++calls % 25 == 0 || fraction == 0)
                    {
                        task.Value = done + fraction;
                        if (caption.Length > 0)
                        {
                            task.Description = Markup.Escape(caption);
                        }
                    }
                });
                task.Value = totalUnits;
            });
    }
}
