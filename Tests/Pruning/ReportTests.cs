using System.Buffers.Binary;
using System.Xml.Linq;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Tests.Pruning;

[TestFixture]
public sealed class ReportTests
{
    private static readonly double[] Remaining = [1.0, 0.513, 0.211, 0.070, 0.036];

    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>Three branches of five levels (3 replicates each) and a one-point dense reference.</summary>
    internal static ExperimentSummary Synthetic()
    {
        static List<LevelPoint> Branch(double[] accuracy, double[] iteration)
        {
            var points = new List<LevelPoint>();
            for (int level = 0; level < Remaining.Length; level++)
            {
                points.Add(new LevelPoint(
                    level, Remaining[level],
                    accuracy[level], 0.0015 + 0.0005 * level,
                    iteration[level], 400 + 100 * level,
                    accuracy[level] - 0.002, 0.002,
                    Replicates: 3));
            }

            return points;
        }

        return new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["random_prune"] = Branch([0.9812, 0.9770, 0.9650, 0.9400, 0.9050], [12500, 13000, 15500, 19000, 24000]),
            ["lottery"] = Branch([0.9812, 0.9835, 0.9840, 0.9790, 0.9700], [12500, 9000, 7000, 8500, 11000]),
            ["random_reinit"] = Branch([0.9812, 0.9780, 0.9690, 0.9480, 0.9190], [12500, 12800, 14500, 18000, 22500]),
            ["dense"] = [new LevelPoint(0, 1.0, 0.9805, 0, 12000, 0, 0.9790, 0, Replicates: 1)],
        });
    }

    [Test]
    public void Write_produces_png_and_svg_for_each_plot_and_nothing_else()
    {
        var paths = ReportPlots.Write(Synthetic(), _dir);

        string[] expected = ["accuracy.png", "accuracy.svg", "early_stop.png", "early_stop.svg", "early_stop_accuracy.png", "early_stop_accuracy.svg"];
        Assert.That(paths.Select(Path.GetFileName), Is.EqualTo(expected));
        Assert.That(paths, Has.All.Matches<string>(File.Exists));
        // Atomic writes leave no temporary files behind.
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(expected));
    }

    [Test]
    public void Pngs_have_the_signature_and_the_requested_size()
    {
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        foreach (string png in ReportPlots.Write(Synthetic(), _dir).Where(p => p.EndsWith(".png", StringComparison.Ordinal)))
        {
            byte[] bytes = File.ReadAllBytes(png);
            Assert.That(bytes.AsSpan(0, 8).ToArray(), Is.EqualTo(signature), png);
            // The first chunk is IHDR: length (4), type (4), width (4, big-endian), height (4).
            Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 12, 4), Is.EqualTo("IHDR"), png);
            Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), Is.EqualTo(ReportPlots.Width), png);
            Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)), Is.EqualTo(ReportPlots.Height), png);
        }
    }

    [Test]
    public void Svgs_are_xml_with_an_svg_root_and_name_every_branch()
    {
        foreach (string svg in ReportPlots.Write(Synthetic(), _dir).Where(p => p.EndsWith(".svg", StringComparison.Ordinal)))
        {
            var doc = XDocument.Load(svg);
            Assert.That(doc.Root!.Name.LocalName, Is.EqualTo("svg"), svg);
            string text = string.Concat(doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
            Assert.That(text, Does.Contain("lottery").And.Contain("random_reinit").And.Contain("random_prune").And.Contain("dense"), svg);
        }
    }

    [Test]
    public void Write_replaces_existing_files()
    {
        File.WriteAllText(Path.Combine(_dir, "accuracy.png"), "old");
        ReportPlots.Write(Synthetic(), _dir);
        Assert.That(new FileInfo(Path.Combine(_dir, "accuracy.png")).Length, Is.GreaterThan(1000));
    }

    [Test]
    public void Write_gives_the_same_bytes_every_time_in_one_process()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        var first = ReportPlots.Write(Synthetic(), a);
        ReportPlots.Write(Synthetic(), b);
        foreach (string path in first)
        {
            string other = Path.Combine(b, Path.GetFileName(path));
            Assert.That(File.ReadAllText(other), Is.EqualTo(File.ReadAllText(path)), Path.GetFileName(path));
        }
    }

    [Test]
    public void Write_draws_a_summary_of_one_reference_point()
    {
        var summary = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["dense"] = [new LevelPoint(0, 1.0, 0.981, 0.001, 5000, 100, 0.98, 0.001, 3)],
        });
        var paths = ReportPlots.Write(summary, _dir);
        Assert.That(paths, Has.Count.EqualTo(6).And.All.Matches<string>(p => new FileInfo(p).Length > 1000));
    }

    [Test]
    public void Write_leaves_a_fraction_outside_the_log_axis_out_of_the_plots()
    {
        var summary = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["lottery"] = [new LevelPoint(0, 1, 0.9, 0, 100, 0, 0.9, 0, 1), new LevelPoint(1, 0.5, 0.8, 0, 100, 0, 0.8, 0, 1), new LevelPoint(3, 0, 0.1, 0, 100, 0, 0.1, 0, 1)],
        });
        Assert.That(ReportPlots.Write(summary, _dir), Has.Count.EqualTo(6));
        Assert.That(ReportTable.Format(summary), Does.Contain("0.00"));

        var nothingDrawable = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["lottery"] = [new LevelPoint(3, 0, 0.1, 0, 100, 0, 0.1, 0, 1)],
        });
        Assert.That(ReportPlots.Write(nothingDrawable, Path.Combine(_dir, "none")), Is.Empty);
    }

    [Test]
    public void Write_rejects_a_summary_without_points()
    {
        var summary = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>());
        Assert.That(() => ReportPlots.Write(summary, _dir), Throws.ArgumentException.With.Message.Contains("no points"));
    }

    [TestCase(100.0, "100")]
    [TestCase(51.3, "51.3")]
    [TestCase(7.0, "7.0")]
    [TestCase(3.6, "3.6")]
    [TestCase(0.45, "0.45")]
    public void Tick_labels_are_plain_percentages(double percent, string label) =>
        Assert.That(ReportPlots.FormatPercent(percent), Is.EqualTo(label));

    [Test]
    public void Branches_are_ordered_ticket_then_controls_then_alphabetically()
    {
        Assert.That(BranchOrder.Sort(["synflow", "random_prune", "dense", "lottery", "snip", "random_reinit"]),
            Is.EqualTo(new[] { "lottery", "random_reinit", "random_prune", "dense", "snip", "synflow" }));
    }

    [Test]
    public void A_branch_keeps_its_colour_whatever_else_is_shown()
    {
        Assert.That(BranchOrder.Color("random_prune", ["lottery", "random_prune"]),
            Is.EqualTo(BranchOrder.Color("random_prune", ["random_prune", "snip", "zeta"])));
        var all = new[] { "lottery", "random_reinit", "random_prune", "snip", "alpha" };
        Assert.That(all.Select(n => BranchOrder.Color(n, all)).Distinct().Count(), Is.EqualTo(all.Length));
    }

    [Test]
    public void Table_lists_branches_levels_and_formatted_means_with_deviations()
    {
        string table = ReportTable.Format(Synthetic());

        Assert.That(table, Does.Contain("lottery").And.Contain("random_reinit").And.Contain("random_prune").And.Contain("dense"));
        foreach (string row in new[] { "100.0", "51.3", "21.1", "7.0", "3.6" })
        {
            Assert.That(table, Does.Contain("\n" + row + "  ").Or.Contain(" " + row + "  "), row);
        }

        Assert.That(table, Does.Contain("98.12 ± 0.15"));   // lottery, level 0, accuracy
        Assert.That(table, Does.Contain("97.00 ± 0.35"));   // lottery, level 4, accuracy
        Assert.That(table, Does.Contain("12500 ± 400"));    // early-stop iteration, level 0
        Assert.That(table, Does.Contain("24000 ± 800"));    // random_prune, level 4
        Assert.That(table, Does.Contain("96.80 ± 0.20"));   // lottery, level 4, early-stop accuracy
        Assert.That(table, Does.Contain("98.05"));           // dense, one replicate: no deviation
        Assert.That(table, Does.Not.Contain("98.05 ±"));
        Assert.That(table, Does.Contain("Test accuracy (%)").And.Contain("Early-stop iteration").And.Contain("Test accuracy at early stop (%)"));
    }

    [Test]
    public void Table_rows_run_from_dense_to_sparse_and_mark_missing_points()
    {
        string[] lines = ReportTable.Format(Synthetic()).Split('\n');
        string[] accuracyRows = lines.Skip(3).Take(5).ToArray();   // title, header, rule, then the rows
        Assert.That(accuracyRows.Select(l => l.Trim().Split(' ')[0]), Is.EqualTo(new[] { "100.0", "51.3", "21.1", "7.0", "3.6" }));
        Assert.That(accuracyRows[1].TrimEnd(), Does.EndWith("-"));   // dense has only the 100% point
    }

    [Test]
    public void Table_with_many_branches_fits_in_the_terminal_width()
    {
        var basis = Synthetic().Branches["lottery"];
        var branches = new[] { "lottery", "random_reinit", "random_prune", "snip", "grasp", "synflow", "magnitude", "random", "dense" }
            .ToDictionary(n => n, _ => basis);
        string table = ReportTable.Format(new ExperimentSummary(branches));

        Assert.That(table.Split('\n'), Has.All.Length.LessThanOrEqualTo(ReportTable.MaxWidth));
        Assert.That(table, Does.Contain("synflow").And.Contain("magnitude"));
    }

    [Test]
    public void Table_formats_numbers_the_same_in_any_culture()
    {
        var previous = Thread.CurrentThread.CurrentCulture;
        try
        {
            // The build runs in invariant-globalization mode, so make a culture with a decimal comma by hand.
            var comma = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            Thread.CurrentThread.CurrentCulture = comma;
            Assert.That(1.5.ToString(comma), Is.EqualTo("1,5"));
            Assert.That(ReportTable.Format(Synthetic()), Does.Contain("98.12 ± 0.15"));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Test]
    public void Summary_json_round_trips()
    {
        var summary = Synthetic();
        var back = ExperimentSummary.FromJson(summary.ToJson());

        Assert.That(back.Branches.Keys, Is.EqualTo(summary.Branches.Keys));
        foreach (var (name, points) in summary.Branches)
        {
            Assert.That(back.Branches[name], Is.EqualTo(points), name);
        }
    }

    [TestCase("not json")]
    [TestCase("{}")]
    [TestCase("[1, 2]")]
    [TestCase("{\"branches\": {\"lottery\": [{\"level\": \"zero\"}]}}")]
    [TestCase("{\"branches\": {\"lottery\": [{\"level\": 0}]}}")]
    public void Summary_from_garbage_throws_invalid_data(string json) =>
        Assert.That(() => ExperimentSummary.FromJson(json), Throws.TypeOf<InvalidDataException>());

    [Test]
    public void TrainingTimes_GiveEachPrunedLevelsSpeedUpOverTheDenseLevel()
    {
        void Unit(string relative, double seconds)
        {
            string dir = Path.Combine(_dir, relative);
            Directory.CreateDirectory(dir);
            UnitTime.Write(dir, seconds);
        }

        Unit("replicate_0/level_00/lottery", 10);
        Unit("replicate_1/level_00/lottery", 12);
        Unit("replicate_0/level_01/lottery", 5.5);
        Unit("replicate_0/level_02/lottery", 2.2);
        Assert.That(
            TrainingTimes.Format(_dir),
            Is.EqualTo("training time, mean seconds per unit (× the dense level's speed): level_00 11.0, level_01 5.5 (2.0×), level_02 2.2 (5.0×); 30 s in all"));
    }
}
