using SparseNet.Pruning.Experiments;

namespace SparseNet.Tests.Pruning;

public class UnitResultTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "sparsenet-unit-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static UnitResult Sample() =>
        new("lottery", 0, 2, 0.64, new Dictionary<string, double> { ["fc1.weight"] = 0.64 }, 100, 0.95, double.NaN, 40, 0.12, 0.96)
        {
            Outcome = UnitResult.Diverged,
            DivergedAtIteration = 101,
            LastFiniteLoss = 3.5,
            Files = [new UnitFile("mask.safetensors", 12, new string('a', 64))],
        };

    [Test]
    public void AResult_ReadsBackAsWritten_WithNonFiniteNumbersAsNull()
    {
        string path = Path.Combine(_dir, "result.json");
        File.WriteAllText(path, Sample().ToJson());
        Assert.That(File.ReadAllText(path), Does.Contain("\"test_loss\": null").And.Contain("\"checksum\": \""));
        var back = UnitResult.Load(path);
        Assert.That(back.ToJson(), Is.EqualTo(Sample().ToJson()));
        Assert.That(double.IsNaN(back.TestLoss), Is.True);
        Assert.That(back.Files.Single(), Is.EqualTo(Sample().Files.Single()));
    }

    [TestCase("\"test_accuracy\": 0.95", "\"test_accuracy\": 0.96")]
    [TestCase("\"level\": 2", "\"level\":  2")]
    [TestCase("\"checksum\": \"", "\"checksum\": \"0")]
    public void AnyEditToAResult_IsSeen(string from, string to)
    {
        string path = Path.Combine(_dir, "result.json");
        File.WriteAllText(path, Sample().ToJson().Replace(from, to, StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidDataException>(() => UnitResult.Load(path));
        Assert.That(ex!.Message, Does.StartWith(path));
    }

    [Test]
    public void AResultOfTheFirstVersion_IsReadForReports_ButNotReused()
    {
        string path = Path.Combine(_dir, "result.json");
        File.WriteAllText(path, """
            {
              "branch": "lottery", "replicate": 0, "level": 1, "weights_remaining": 0.8, "layer_weights_remaining": { "fc1.weight": 0.8 },
              "iterations": 10, "test_accuracy": 0.9, "test_loss": 0.3, "early_stop_iteration": 5, "early_stop_validation_loss": 0.2, "early_stop_test_accuracy": 0.91
            }
            """);
        Assert.That(UnitResult.Load(path, verify: false).TestAccuracy, Is.EqualTo(0.9));
        var ex = Assert.Throws<InvalidDataException>(() => UnitResult.Load(path));
        Assert.That(ex!.Message, Does.Contain("results version 1"));
    }
}
