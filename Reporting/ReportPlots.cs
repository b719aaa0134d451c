using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;
using SparseNet.Engine.IO;
using SparseNet.Pruning.Experiments;

namespace SparseNet.Reporting;

/// <summary>
/// Draws an experiment's summary as the plots of the lottery ticket paper: a metric against the percent of
/// weights remaining on a reversed log axis (dense on the left, sparsity increasing to the right), one line per
/// branch, with error bars of one standard deviation across replicates.
/// </summary>
public static partial class ReportPlots
{
    /// <summary>Width of every plot in pixels.</summary>
    public const int Width = 800;

    /// <summary>Height of every plot in pixels.</summary>
    public const int Height = 500;

    // Horizontal room each x tick label needs, in pixels, before the next one may be drawn.
    private const double TickLabelSpacingPixels = 48;

    // Approximate width of the data area: the plot minus the y axis and the legend beside it.
    private const double DataAreaPixels = 620;

    // Without fontconfig (the headless Skia build) every family falls back to the first font Skia finds, often a
    // serif; a sans family that resolves to itself is used instead, in this order.
    private static readonly string[] SansFamilies = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"];

    private static readonly string? SansFamily =
        SansFamilies.FirstOrDefault(f => string.Equals(Fonts.GetTypeface(f, false, false).FamilyName, f, StringComparison.OrdinalIgnoreCase));

    private sealed record Figure(string Stem, string Title, string YLabel, Func<LevelPoint, double> Value, Func<LevelPoint, double> Std);

    private static readonly Figure[] Figures =
    [
        new("accuracy", "Test accuracy at the end of training", "Test accuracy (%)",
            p => 100 * p.TestAccuracy, p => 100 * p.TestAccuracyStd),
        new("early_stop", "Early-stopping iteration (minimum validation loss)", "Early-stop iteration",
            p => p.EarlyStopIteration, p => p.EarlyStopIterationStd),
        new("early_stop_accuracy", "Test accuracy at the early-stopping iteration", "Test accuracy at early stop (%)",
            p => 100 * p.EarlyStopTestAccuracy, p => 100 * p.EarlyStopTestAccuracyStd),
    ];

    /// <summary>
    /// Writes <c>accuracy</c>, <c>early_stop</c> and <c>early_stop_accuracy</c>, each as PNG and SVG
    /// (<see cref="Width"/> × <see cref="Height"/>), into <paramref name="directory"/>. Each file is written
    /// to a temporary name and renamed into place, so a reader never sees a partial plot.
    /// A branch with a single point (such as a dense reference) is drawn as a dashed horizontal line
    /// through its marker.
    /// </summary>
    /// <param name="summary">The experiment's results; needs at least one point. Points whose weights-remaining fraction is outside (0, 1] are left out.</param>
    /// <param name="directory">Target directory; created if missing.</param>
    /// <returns>The paths written, PNG then SVG for each plot.</returns>
    /// <exception cref="ArgumentException">The summary has no points.</exception>
    public static IReadOnlyList<string> Write(ExperimentSummary summary, string directory)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Validate(summary);
        summary = Drawable(summary);
        Directory.CreateDirectory(directory);
        if (summary.Branches.Values.All(points => points.Count == 0))
        {
            return [];
        }

        var written = new List<string>(2 * Figures.Length);
        foreach (var figure in Figures)
        {
            using var plot = Build(summary, figure);
            written.AddRange(Save(plot, directory, figure.Stem));
        }

        return written;
    }

    /// <summary>Writes <paramref name="plot"/> as <c>stem.png</c> and <c>stem.svg</c> into the directory (atomically); returns both paths.</summary>
    internal static string[] Save(Plot plot, string directory, string stem)
    {
        string png = Path.Combine(directory, stem + ".png"), svg = Path.Combine(directory, stem + ".svg");
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        AtomicFile.WriteAllText(svg, NumberClipPaths(plot.GetSvgXml(Width, Height)));
        return [png, svg];
    }

    /// <summary>The x tick label of a percentage: <c>100</c>, <c>51.3</c>, <c>7.0</c>, <c>0.45</c>.</summary>
    internal static string FormatPercent(double percent) =>
        percent >= 99.95 ? "100"
        : percent >= 0.95 ? percent.ToString("0.0", CultureInfo.InvariantCulture)
        : percent.ToString("0.0#", CultureInfo.InvariantCulture);

    /// <summary>
    /// Skia names SVG clip paths from a counter that lives as long as the process (<c>cl_4</c> in the first plot,
    /// <c>cl_97</c> in a later one); renumbering them in order of appearance makes equal plots equal files.
    /// </summary>
    internal static string NumberClipPaths(string svg)
    {
        var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
        return ClipPathId().Replace(svg, m =>
        {
            if (!numbers.TryGetValue(m.Groups[1].Value, out int n))
            {
                n = numbers.Count + 1;
                numbers[m.Groups[1].Value] = n;
            }

            return string.Create(CultureInfo.InvariantCulture, $"cl_{n}");
        });
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bcl_([0-9a-fA-F]+)\b")]
    private static partial System.Text.RegularExpressions.Regex ClipPathId();

    private static void Validate(ExperimentSummary summary)
    {
        if (summary.Branches.Values.All(points => points.Count == 0))
        {
            throw new ArgumentException("report: the summary has no points to plot", nameof(summary));
        }
    }

    // A log axis cannot show a network with no weights left (layer collapse under global pruning); such points
    // stay in the table and summary.json but are left out of the plots.
    private static ExperimentSummary Drawable(ExperimentSummary summary) =>
        new(summary.Branches.ToDictionary(
            kv => kv.Key,
            kv => (IReadOnlyList<LevelPoint>)kv.Value.Where(p => p.WeightsRemaining > 0 && p.WeightsRemaining <= 1).ToList(),
            StringComparer.Ordinal));

    private static Plot Build(ExperimentSummary summary, Figure figure)
    {
        var plot = new Plot();
        var references = new List<(double Y, Color Color)>();
        var names = BranchOrder.Sort(summary.Branches.Where(kv => kv.Value.Count > 0).Select(kv => kv.Key));
        foreach (string name in names)
        {
            var points = summary.Branches[name].OrderByDescending(p => p.WeightsRemaining).ToList();
            var color = Color.FromHex(BranchOrder.Color(name, names));
            double[] xs = points.Select(p => Math.Log10(100 * p.WeightsRemaining)).ToArray();
            double[] ys = points.Select(figure.Value).ToArray();

            if (points.Count == 1)
            {
                // One point is a reference level (e.g. the dense network): a dashed line across the plot compares
                // every sparsity against it, and the marker (the legend entry) shows where it was measured.
                references.Add((ys[0], color));
                var marker = plot.Add.Marker(xs[0], ys[0]);
                marker.Color = color;
                marker.Size = 8;
                marker.LegendText = name;
            }
            else
            {
                var scatter = plot.Add.Scatter(xs, ys);
                scatter.Color = color;
                scatter.LineWidth = 1.5f;
                scatter.MarkerSize = 6;
                scatter.LegendText = name;
            }

            if (points.Any(p => p.Replicates > 1))
            {
                double[] errors = points.Select(p => p.Replicates > 1 ? figure.Std(p) : 0).ToArray();
                var bars = plot.Add.ErrorBar(xs, ys, errors);
                bars.Color = color;
                bars.LineWidth = 1.2f;
            }
        }

        plot.Title(figure.Title);
        plot.XLabel("Weights remaining (%)");
        plot.YLabel(figure.YLabel);
        UseSansFont(plot);
        plot.ShowLegend(Edge.Right);

        // Autoscale y first: setting the x limits marks the axes as set, after which nothing rescales.
        plot.Axes.AutoScale();
        var percents = summary.Branches.Values.SelectMany(ps => ps).Select(p => 100 * p.WeightsRemaining).ToList();
        double hi = Math.Log10(percents.Max());
        double lo = Math.Log10(percents.Min());
        double pad = Math.Max(0.04 * (hi - lo), 0.05);

        // Left > right reverses the axis: dense on the left, sparsity increasing to the right.
        plot.Axes.SetLimitsX(hi + pad, lo - pad);
        plot.Axes.Bottom.TickGenerator = LogPercentTicks(percents, hi - lo + 2 * pad);
        foreach (var (y, color) in references)
        {
            AddDashedLine(plot, hi + pad, lo - pad, y, color);
        }

        return plot;
    }

    internal static void UseSansFont(Plot plot)
    {
        if (SansFamily is null)
        {
            return;
        }

        plot.Font.Set(SansFamily);
    }

    /// <summary>
    /// A horizontal dashed line from <paramref name="left"/> to <paramref name="right"/>, drawn as separate segments:
    /// Skia's SVG backend has no dash path effect and writes a warning to stderr for every dashed stroke.
    /// The x axis is linear in its (log) coordinates, so equal segments in data units look equal on screen.
    /// </summary>
    private static void AddDashedLine(Plot plot, double left, double right, double y, Color color)
    {
        const int Dashes = 40;
        double period = (right - left) / Dashes;
        for (int i = 0; i < Dashes; i++)
        {
            double start = left + i * period;
            var dash = plot.Add.Line(start, y, start + 0.55 * period, y);
            dash.Color = color;
            dash.LineWidth = 1.5f;
            dash.MarkerSize = 0;
        }
    }

    /// <summary>
    /// Major ticks at the measured percentages (labelled with their values, as in the LTH paper), thinned so labels
    /// do not collide; minor ticks at 1–9 × 10ᵏ to show the log scale.
    /// </summary>
    private static NumericManual LogPercentTicks(IEnumerable<double> percents, double spanDecades)
    {
        var ticks = new NumericManual();
        double minGap = spanDecades * TickLabelSpacingPixels / DataAreaPixels;
        double last = double.PositiveInfinity;
        foreach (double percent in percents.Distinct().OrderByDescending(p => p))
        {
            double x = Math.Log10(percent);
            if (last - x >= minGap)
            {
                ticks.AddMajor(x, FormatPercent(percent));
                last = x;
            }
        }

        double smallest = percents.Min();
        for (int exponent = (int)Math.Floor(Math.Log10(smallest)); exponent <= 2; exponent++)
        {
            for (int mantissa = 1; mantissa <= 9; mantissa++)
            {
                double value = mantissa * Math.Pow(10, exponent);
                if (value >= smallest * 0.5 && value <= 100)
                {
                    ticks.AddMinor(Math.Log10(value));
                }
            }
        }

        return ticks;
    }
}
