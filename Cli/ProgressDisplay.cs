using Spectre.Console;
using Spectre.Console.Rendering;

namespace SparseNet.Cli;

/// <summary>
/// A live progress bar on a terminal; plain output (no bar) when stdout is redirected. Work shown by the bar
/// prints through the <c>log</c> callback it is given, never straight to <see cref="Console.Out"/>: on a terminal
/// the bar is redrawn in place, so anything written behind its back lands inside the bar and is overdrawn.
/// </summary>
internal static class ProgressDisplay
{
    // The live display in progress, if any: an interrupted process that exits without waiting for its work
    // must give the terminal its cursor back (see Abandon).
    private static IAnsiConsole? live;

    /// <summary>
    /// Runs <paramref name="work"/> with two callbacks: <c>advance(caption)</c> moves the bar one step and sets
    /// its caption; <c>log(line)</c> prints a line of plain text (no markup) above the bar.
    /// </summary>
    public static void Run(string title, int totalSteps, Action<Action<string>, Action<string>> work) =>
        Run(Terminal, Console.Out, title, totalSteps, work);

    /// <summary>
    /// Runs <paramref name="work"/>, whose first callback reports (units done, fraction of the current unit,
    /// caption); the bar shows units done plus the current unit's fraction. Its second callback prints a line
    /// of plain text above the bar. Without a terminal, prints a line per finished unit.
    /// </summary>
    public static void RunUnits(int totalUnits, Action<Action<int, double, string>, Action<string>> work) =>
        RunUnits(Terminal, Console.Out, totalUnits, work);

    /// <summary>
    /// <see cref="Run(string, int, Action{Action{string}, Action{string}})"/> on <paramref name="console"/>: the
    /// bar is drawn only when it is interactive and understands ANSI; otherwise each logged line goes to
    /// <paramref name="plain"/> as it is, unwrapped, so redirected output stays greppable.
    /// </summary>
    internal static void Run(IAnsiConsole? console, TextWriter plain, string title, int totalSteps, Action<Action<string>, Action<string>> work)
    {
        if (console is null || !IsLive(console))
        {
            work(_ => { }, plain.WriteLine);
            return;
        }

        Show(console, hideCompleted: true, ctx =>
        {
            var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, totalSteps));
            int pending = 0;
            work(
                caption =>
                {
                    // Redrawing on every iteration costs more than the iteration itself; batch the updates.
                    if (++pending >= 20)
                    {
                        task.Description = Markup.Escape(caption);
                        task.Increment(pending);
                        pending = 0;
                    }
                },
                line => console.Write(new LogLine(line)));
            task.Increment(pending);
        });
    }

    /// <summary>
    /// <see cref="RunUnits(int, Action{Action{int, double, string}, Action{string}})"/> on <paramref name="console"/>,
    /// with <paramref name="plain"/> for output without a live display.
    /// </summary>
    internal static void RunUnits(IAnsiConsole? console, TextWriter plain, int totalUnits, Action<Action<int, double, string>, Action<string>> work)
    {
        if (console is null || !IsLive(console))
        {
            int lastDone = 0, firstDone = -1;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var sinceFirst = new System.Diagnostics.Stopwatch();
            work(
                (done, fraction, _) =>
                {
                    // Units found finished (a resumed run) count in no time; the rate is taken from the first unit
                    // this process trains.
                    if (firstDone < 0 && fraction > 0)
                    {
                        firstDone = done;
                        sinceFirst.Start();
                    }

                    if (done != lastDone)
                    {
                        lastDone = done;
                        plain.WriteLine($"  {done}/{totalUnits} trainings done ({Eta(clock.Elapsed, sinceFirst.Elapsed, firstDone < 0 ? 0 : done - firstDone, totalUnits - done)})");
                    }
                },
                plain.WriteLine);
            return;
        }

        Show(console, hideCompleted: false, ctx =>
        {
            var task = ctx.AddTask("starting", maxValue: Math.Max(1, totalUnits));
            int calls = 0;
            work(
                (done, fraction, caption) =>
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
                },
                line => console.Write(new LogLine(line)));
            task.Value = totalUnits;
        });
    }

    /// <summary>
    /// Gives the terminal back when the process exits while a live display is still drawn (its work did not
    /// stop in time after a signal): shows the cursor and moves below the bar, so the shell's prompt and any
    /// last message start on a line of their own. Does nothing when no display is live.
    /// </summary>
    public static void Abandon()
    {
        if (Interlocked.Exchange(ref live, null) is { } console)
        {
            // Straight to the terminal: a write through the console's pipeline would redraw the bar.
            console.WriteAnsi(w => w.ShowCursor().WriteLine());
        }
    }

    /// <summary>Elapsed time, and the time left at the rate the trained units went (when one was).</summary>
    internal static string Eta(TimeSpan elapsed, TimeSpan training, int trained, int left)
    {
        string Span(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
        string text = $"{Span(elapsed)} elapsed";
        return trained > 0 && left > 0 ? $"{text}, about {Span(training / trained * left)} left" : text;
    }

    // Null when stdout is not a terminal: Spectre would still think the console interactive when only
    // stdin is one, and draw the bar into a file or pipe.
    private static IAnsiConsole? Terminal => Console.IsOutputRedirected ? null : AnsiConsole.Console;

    // Spectre falls back to printing milestones itself without both; the plain path is better than that.
    private static bool IsLive(IAnsiConsole console) => console.Profile.Capabilities is { Interactive: true, Ansi: true };

    // Spectre's own finally clears the bar and shows the cursor again when the work throws (Ctrl-C).
    private static void Show(IAnsiConsole console, bool hideCompleted, Action<ProgressContext> body)
    {
        live = console;
        try
        {
            new Progress(console)
                .AutoClear(true)
                .HideCompleted(hideCompleted)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(body);
        }
        finally
        {
            Interlocked.CompareExchange(ref live, null, console);
        }
    }

    /// <summary>
    /// One logged line. Written through the console while the bar is live, Spectre moves the cursor to the top
    /// of the bar, writes this, and redraws the bar below it. The bar's rows are not cleared first, so each row
    /// of the line erases its own; a line wider than the console wraps at spaces onto the next rows (nothing
    /// is cut off), as plain text even if it contains brackets.
    /// </summary>
    private sealed class LogLine(string line) : Renderable
    {
        private static readonly Segment EraseLine = Segment.Control("\u001b[2K");

        protected override IEnumerable<Segment> Render(RenderOptions options, int maxWidth)
        {
            var rows = Segment.SplitLines(((IRenderable)new Text(line)).Render(options, maxWidth), maxWidth);
            if (rows.Count == 0)
            {
                rows.Add([]);
            }

            foreach (var row in rows)
            {
                yield return EraseLine;
                foreach (var segment in row)
                {
                    yield return segment;
                }

                yield return Segment.LineBreak;
            }
        }
    }
}
