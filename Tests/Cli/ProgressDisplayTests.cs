using System.Globalization;
using System.Text.RegularExpressions;
using SparseNet.Cli;
using Spectre.Console.Testing;

namespace SparseNet.Tests.Cli;

/// <summary>
/// Lines logged while the progress bar is live, as a person sees them: replayed on a <see cref="TerminalScreen"/>
/// of the console's width, each is whole and in order above the bar, and nothing of the bar is left once it
/// ends. A line wider than the console wraps at a space onto the next row; no character is cut off.
/// </summary>
[NonParallelizable]
public partial class ProgressDisplayTests
{
    // About 90 characters, like the real "epoch i/n ..." lines; the brackets must print as they are, not as markup.
    private static readonly string[] EpochLines =
    [
        .. Enumerable.Range(1, 3).Select(i => string.Create(
            CultureInfo.InvariantCulture,
            $"epoch   {i}/3  iteration {134 * i,6}  train loss 0.{5131 - (1000 * i)}  test loss 0.30{i}9  test accuracy [{90 + i}.10%]")),
    ];

    [TestCase(80)]
    [TestCase(200)]
    public void LoggedLines_AreWholeAndInOrder_AboveTheBar(int width)
    {
        using var console = NewTerminal(width);
        var plain = new StringWriter();

        ProgressDisplay.Run(console, plain, "training", 3 * 200, (advance, log) =>
        {
            foreach (string line in EpochLines)
            {
                for (int k = 0; k < 200; k++)
                {
                    advance($"{line[..11]} loss 0.{k:D4}");
                }

                // Long enough for the refresh thread to draw the bar, which the line is then written over.
                Thread.Sleep(150);
                log(line);
            }
        });

        Assert.That(plain.ToString(), Is.Empty, "nothing bypasses the live display");
        AssertOnceEachInOrder(console.Output, EpochLines);
        var screen = TerminalScreen.Play(console.Output, width);
        Assert.That(screen.CursorVisible, Is.True, "cursor shown again");
        AssertScreenShows(screen, width, EpochLines);
    }

    [TestCase(80)]
    [TestCase(200)]
    public void Units_LoggedLines_AreWholeAndInOrder_AboveTheBar(int width)
    {
        using var console = NewTerminal(width);
        var plain = new StringWriter();

        ProgressDisplay.RunUnits(console, plain, 3, (update, log) =>
        {
            for (int unit = 0; unit < 3; unit++)
            {
                for (int k = 0; k < 100; k++)
                {
                    update(unit, k / 100.0, $"replicate 0 level {unit} lottery");
                }

                Thread.Sleep(150);
                log(EpochLines[unit]);
            }
        });

        Assert.That(plain.ToString(), Is.Empty);
        AssertOnceEachInOrder(console.Output, EpochLines);
        AssertScreenShows(TerminalScreen.Play(console.Output, width), width, EpochLines);
    }

    [Test]
    public void Interrupted_ClearsTheBar_ShowsTheCursor_KeepsWhatWasLogged()
    {
        using var console = NewTerminal(80);

        Assert.Throws<OperationCanceledException>(() => ProgressDisplay.Run(console, TextWriter.Null, "training", 100, (advance, log) =>
        {
            for (int k = 0; k < 50; k++)
            {
                advance("epoch 1/3");
            }

            log(EpochLines[0]);
            Thread.Sleep(150);
            throw new OperationCanceledException();
        }));

        var screen = TerminalScreen.Play(console.Output, 80);
        Assert.That(console.Output, Does.Contain("\u001b[?25l"), "the bar hid the cursor");
        Assert.That(screen.CursorVisible, Is.True, "and it is shown again");
        AssertScreenShows(screen, 80, EpochLines[..1]);
    }

    [Test]
    public void WithoutTerminal_LinesArePlain_UnwrappedAndInOrder()
    {
        // Not interactive (a pipe, a CI log) or no console at all (stdout redirected): exactly the lines.
        using var console = new TestConsole().Width(80);
        foreach (var terminal in new[] { console, null })
        {
            var plain = new StringWriter();
            ProgressDisplay.Run(terminal, plain, "training", 600, (advance, log) =>
            {
                foreach (string line in EpochLines)
                {
                    advance("epoch");
                    log(line);
                }
            });

            Assert.That(plain.ToString(), Is.EqualTo(string.Concat(EpochLines.Select(l => l + Environment.NewLine))));
        }

        Assert.That(console.Output, Is.Empty);
    }

    [Test]
    public void Units_WithoutTerminal_PrintFinishedUnitsAndLoggedLinesInOrder()
    {
        var plain = new StringWriter();
        ProgressDisplay.RunUnits(null, plain, 2, (update, log) =>
        {
            update(0, 0.5, "first");
            log("after half a unit");
            update(1, 0, "second");
            update(2, 0, string.Empty);
        });

        var lines = plain.ToString().Split(Environment.NewLine);
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines[0], Is.EqualTo("after half a unit"));
        Assert.That(lines[1], Does.Match(@"^  1/2 trainings done \(0:\d\d elapsed, about 0:\d\d left\)$"));
        Assert.That(lines[2], Does.Match(@"^  2/2 trainings done \(0:\d\d elapsed\)$"));
        Assert.That(lines[3], Is.Empty);
    }

    [Test]
    public void Units_FoundFinishedOnResume_GiveNoEstimateUntilAUnitIsTrained()
    {
        var plain = new StringWriter();
        ProgressDisplay.RunUnits(null, plain, 3, (update, _) =>
        {
            update(1, 0, "found finished");
            update(1, 0.5, "training");
            update(2, 0, "trained");
        });

        var lines = plain.ToString().Split(Environment.NewLine);
        Assert.That(lines[0], Does.Match(@"^  1/3 trainings done \(0:\d\d elapsed\)$"));
        Assert.That(lines[1], Does.Match(@"^  2/3 trainings done \(0:\d\d elapsed, about 0:\d\d left\)$"));
    }

    [Test]
    public void Eta_ScalesTheTimeOfTheTrainedUnitsToThoseLeft()
    {
        Assert.That(ProgressDisplay.Eta(TimeSpan.FromSeconds(75), TimeSpan.FromSeconds(60), 3, 6), Is.EqualTo("1:15 elapsed, about 2:00 left"));
        Assert.That(ProgressDisplay.Eta(TimeSpan.FromHours(2.5), TimeSpan.FromHours(2), 1, 1), Is.EqualTo("2:30:00 elapsed, about 2:00:00 left"));
        Assert.That(ProgressDisplay.Eta(TimeSpan.FromSeconds(5), TimeSpan.Zero, 0, 4), Is.EqualTo("0:05 elapsed"));
    }

    [Test]
    public void Abandon_ShowsTheCursorBelowALiveBar_AndOnlyThen()
    {
        using var console = NewTerminal(80);
        string atExit = string.Empty;
        ProgressDisplay.Run(console, TextWriter.Null, "training", 100, (advance, _) =>
        {
            advance("epoch 1/3");
            Thread.Sleep(150);

            // What the process leaves behind when it exits here, its work not stopping in time after a signal.
            ProgressDisplay.Abandon();
            atExit = console.Output;
        });

        Assert.That(atExit, Does.Contain("\u001b[?25l"), "the bar hid the cursor");
        Assert.That(TerminalScreen.Play(atExit, 80).CursorVisible, Is.True, "Abandon shows it");
        Assert.That(atExit, Does.EndWith("\u001b[?25h" + Environment.NewLine), "and starts a line below the bar");

        string after = console.Output;
        ProgressDisplay.Abandon();
        Assert.That(console.Output, Is.EqualTo(after), "no live display, nothing to do");
    }

    private static TestConsole NewTerminal(int width) =>
        new TestConsole().Width(width).Height(30).Interactive().EmitAnsiSequences();

    // In the raw stream (escape sequences dropped; a wrap is whitespace), each line is written exactly once, in order.
    private static void AssertOnceEachInOrder(string output, string[] lines)
    {
        string text = Collapse(AnsiSequence().Replace(output, " "));
        int at = -1;
        foreach (string line in lines)
        {
            string wanted = Collapse(line);
            int found = text.IndexOf(wanted, at + 1, StringComparison.Ordinal);
            Assert.That(found, Is.GreaterThan(at), $"'{line}' after the previous line in:\n{text}");
            Assert.That(text.IndexOf(wanted, found + 1, StringComparison.Ordinal), Is.EqualTo(-1), $"'{line}' written once");
            at = found;
        }
    }

    // What is left on screen is the lines and nothing else (no bar, no remnant of it), each on one row when it
    // fits, else on consecutive rows that break at spaces and read back as the line.
    private static void AssertScreenShows(TerminalScreen screen, int width, string[] lines)
    {
        var rows = screen.Rows;
        string shown = string.Join('\n', rows);
        int r = 0;
        foreach (string line in lines)
        {
            if (line.Length <= width)
            {
                Assert.That(r, Is.LessThan(rows.Count), shown);
                Assert.That(rows[r++], Is.EqualTo(line), shown);
                continue;
            }

            var parts = new List<string>();
            while (r < rows.Count && Collapse(string.Join(' ', parts)).Length < Collapse(line).Length)
            {
                parts.Add(rows[r++]);
            }

            Assert.That(parts, Has.Count.GreaterThan(1).And.All.Length.LessThanOrEqualTo(width), shown);
            Assert.That(Collapse(string.Join(' ', parts)), Is.EqualTo(Collapse(line)), $"wrapped at spaces, nothing cut:\n{shown}");
        }

        Assert.That(rows.Skip(r), Is.Empty, $"nothing but the lines is left:\n{shown}");
    }

    private static string Collapse(string s) => Whitespace().Replace(s, " ").Trim();

    [GeneratedRegex(@"\u001b(\[[\u0020-\u003f]*[\u0040-\u007e]|\][^\u0007\u001b]*(\u0007|\u001b\\)|.)")]
    private static partial Regex AnsiSequence();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
