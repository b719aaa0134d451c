using SparseNet.Pruning.Analyses;
using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Tests.Pruning;

public class TrainMetricsTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "sparsenet-train-metrics-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static UnitResult Result(string branch, int level, double remaining, double testAccuracy, double trainAccuracy, int version = ResultsFormat.Version) =>
        new(branch, 0, level, remaining, new Dictionary<string, double> { ["fc1.weight"] = remaining }, 100, testAccuracy, 0.30, 40, 0.12, testAccuracy)
        {
            TrainAccuracy = trainAccuracy,
            TrainLoss = double.IsNaN(trainAccuracy) ? double.NaN : 0.20,
            ResultsVersion = version,
        };

    [Test]
    public void TrainMetrics_AreRecorded_AndReadBack()
    {
        string path = Path.Combine(_dir, "result.json");
        File.WriteAllText(path, Result("lottery", 1, 0.8, 0.95, 0.99).ToJson());
        Assert.That(File.ReadAllText(path), Does.Contain($"\"results_version\": {ResultsFormat.Version}").And.Contain("\"train_accuracy\": 0.99").And.Contain("\"train_loss\": 0.2"));
        var back = UnitResult.Load(path);
        Assert.That(back.TrainAccuracy, Is.EqualTo(0.99));
        Assert.That(back.TrainLoss, Is.EqualTo(0.20));
    }

    [Test]
    public void AResultOfVersion4_WithoutTrainMetrics_IsReadForReports_ButNotReused()
    {
        string path = Path.Combine(_dir, "result.json");
        File.WriteAllText(path, Result("lottery", 1, 0.8, 0.95, double.NaN, version: 4).ToJson());
        Assert.That(File.ReadAllText(path), Does.Not.Contain("train_"));
        var old = UnitResult.Load(path, verify: false);
        Assert.That(old.TestAccuracy, Is.EqualTo(0.95));
        Assert.That(double.IsNaN(old.TrainAccuracy) && double.IsNaN(old.TrainLoss), Is.True);
        var ex = Assert.Throws<InvalidDataException>(() => UnitResult.Load(path));
        Assert.That(ex!.Message, Does.Contain("results version 4"));
    }

    [Test]
    public void TheGeneralisationTable_ShowsADash_WhereTrainMetricsWereNotRecorded()
    {
        var results = new[]
        {
            Result("lottery", 0, 1.0, 0.96, 0.99),
            Result("lottery", 1, 0.8, 0.95, double.NaN, version: 4),
            Result("random_prune", 1, 0.8, 0.93, 0.94),
        };
        var points = Generalization.Summarize(results, runDirectory: null);
        Assert.That(points.Select(p => (p.Branch, p.Level)), Is.EqualTo(new[] { ("lottery", 0), ("lottery", 1), ("random_prune", 1) }));
        Assert.That(points[0].AccuracyGap, Is.EqualTo(0.99 - 0.96).Within(1e-12));
        Assert.That(points[2].LossGap, Is.EqualTo(0.30 - 0.20).Within(1e-12));

        var lines = GeneralizationReport.Format(points).Split('\n');
        string dense = lines.Single(l => l.TrimStart().StartsWith("100.0", StringComparison.Ordinal));
        Assert.That(dense, Does.Contain("99.00").And.Contain("96.00").And.Contain("3.00"));
        string old = lines.Single(l => l.Contains(" lottery", StringComparison.Ordinal) && l.TrimStart().StartsWith("80.0", StringComparison.Ordinal));
        Assert.That(old.Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "80.0", "lottery", "1", "—", "—", "0.3", "—", "95.00", "—", "—" }));

        // Plots draw the points that have train metrics; with none, nothing is drawn.
        var written = GeneralizationReport.WritePlots(points, _dir);
        Assert.That(written.Select(Path.GetFileName), Is.EqualTo(new[] { "generalization.png", "generalization.svg", "generalization_gap.png", "generalization_gap.svg" }));
        Assert.That(GeneralizationReport.WritePlots(Generalization.Summarize([results[1]], null), Path.Combine(_dir, "none")), Is.Empty);
    }

    [Test]
    public void GradientFlowResults_ReadBackAsWritten_AndTheTableListsEveryBranchAtEachDensity()
    {
        static GradientFlowUnit Unit(string branch, int level, double remaining, double cos, double measured) =>
            new($"replicate_0/level_{level:D2}/{branch}", branch, 0, level, remaining, 0.9, new string('a', 64), new string('b', 64),
                new GradientFlowMeasure(600, 2.3, 1.5, 1.5 * cos, cos, cos, cos * cos, 1e-3, 2.29, 2.3 - (0.01 * measured), measured, cos / 2));
        var results = new GradientFlowResults(new GradientFlowSettings(), 60, [
            Unit("lottery", 0, 1, 1, 1),
            Unit("lottery", 3, 0.513, 0.7, 0.5),
            Unit("random_prune", 3, 0.513, 0.72, double.NaN),
            Unit("snip", 487, 0.513, 0.8, 0.64),
        ]);
        AtomicWrite(results);
        var back = GradientFlowResults.Read(_dir)!;
        Assert.That(back.ToJson(), Is.EqualTo(results.ToJson()));
        Assert.That(back.Units[1].Measure, Is.EqualTo(results.Units[1].Measure));

        string table = GradientFlowReport.Format(back);
        var rows = table.Split('\n').Where(l => l.TrimStart().StartsWith("51.3", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.That(rows.Select(r => r[1]), Is.EqualTo(new[] { "lottery", "random_prune", "snip" }));
        Assert.That(rows[0], Is.EqualTo(new[] { "51.3", "lottery", "3", "0.700", "0.700", "0.350", "0.490", "0.500", "1.020", "90.00" }));
        Assert.That(rows[1][7], Is.EqualTo("—"));
        Assert.That(table, Does.Contain("10 batches × 60 training examples").And.Contain("η = 0.001"));

        var plots = GradientFlowReport.WritePlots(back, _dir);
        Assert.That(plots.Select(Path.GetFileName), Is.EqualTo(new[] { "gradient_flow_cosine.png", "gradient_flow_cosine.svg", "gradient_flow_progress.png", "gradient_flow_progress.svg" }));
    }

    [Test]
    public void ADamagedGradientFlowFile_IsAnErrorNamingIt()
    {
        Assert.That(GradientFlowResults.Read(_dir), Is.Null);
        string path = Path.Combine(_dir, GradientFlowResults.FileName);
        File.WriteAllText(path, "{\"format\": \"sparsenet-gradient-flow\", \"version\": 1");
        var ex = Assert.Throws<InvalidDataException>(() => GradientFlowResults.Read(_dir));
        Assert.That(ex!.Message, Does.StartWith($"'{path}'"));
    }

    private void AtomicWrite(GradientFlowResults results) =>
        SparseNet.Engine.IO.AtomicFile.WriteAllText(Path.Combine(_dir, GradientFlowResults.FileName), results.ToJson());
}
