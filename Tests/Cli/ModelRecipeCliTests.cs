using System.Text.Json;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class ModelRecipeCliTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-cli-recipes-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "data"), train: 64, test: 16, gzip: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // Runs a one-epoch, two-level lottery without branches and returns the settings it recorded.
    private Dictionary<string, string> Lottery(params string[] options)
    {
        string root = Path.Combine(_dir, "runs-" + Guid.NewGuid().ToString("N"));
        var (code, _, err) = CliTests.Run(["lottery", "--data", Path.Combine(_dir, "data"), "--validation-size", "16", "--epochs", "1", "--levels", "2", "--branches=", "--root", root, .. options]);
        Assert.That(code, Is.Zero, err);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory.GetDirectories(root).Single(), "hyperparameters.json")));
        return json.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
    }

    [Test]
    public void Lottery_OnAResNet_TakesOpenLthsRecipe_WithoutFurtherFlags()
    {
        var s = Lottery("--model", "resnet8_2");
        Assert.That(s["optimizer"], Is.EqualTo("sgd"));
        Assert.That((s["lr"], s["momentum"], s["weight_decay"], s["batch_size"]), Is.EqualTo(("0.1", "0.9", "0.0001", "128")));
        Assert.That((s["lr_milestone_epochs"], s["lr_milestones"], s["init"]), Is.EqualTo(("80,120", string.Empty, "KaimingNormal")));
        Assert.That((s["global"], s["prune_rate"], s["exclude"]), Is.EqualTo(("true", "0.2", string.Empty)));
        Assert.That(s["epochs"], Is.EqualTo("1"), "a given option still wins");
    }

    [Test]
    public void Lottery_OnConv2_PrunesConvolutionsAtTenPercent_UnlessARateIsGiven()
    {
        var s = Lottery("--model", "conv2", "--lr", "0.001");
        Assert.That((s["optimizer"], s["lr"], s["batch_size"]), Is.EqualTo(("adam", "0.001", "60")));
        Assert.That((s["global"], s["prune_rate"], s["conv_prune_rate"], s["fc_prune_rate"], s["output_prune_rate"]), Is.EqualTo(("false", "0.2", "0.1", string.Empty, "0.1")));

        var given = Lottery("--model", "conv2", "--prune-rate", "0.3", "--fc-prune-rate", "0.25");
        Assert.That((given["prune_rate"], given["conv_prune_rate"], given["fc_prune_rate"]), Is.EqualTo(("0.3", string.Empty, "0.25")), "--prune-rate replaces the recipe's per-type rates");
    }

    [Test]
    public void Lottery_OnVgg_CanPruneLayerwise_AndIncludeTheOutputLayer()
    {
        // VGG's four pools need 16×16 images; one dense level of one iteration keeps this short.
        string data = Path.Combine(_dir, "data16");
        IdxTestFiles.WriteDataset(data, train: 32, test: 8, gzip: false, rows: 16, cols: 16);
        string root = Path.Combine(_dir, "vgg");
        var (code, _, err) = CliTests.Run("lottery", "--model", "vgg11", "--data", data, "--validation-size", "16", "--epochs", "1", "--batch-size", "16", "--levels", "1", "--branches=", "--root", root, "--global", "false", "--exclude=");
        Assert.That(code, Is.Zero, err);
        string json = File.ReadAllText(Path.Combine(Directory.GetDirectories(root).Single(), "hyperparameters.json"));
        Assert.That(json, Does.Contain("\"global\": \"false\"").And.Contain("\"exclude\": \"\"").And.Contain("\"optimizer\": \"sgd\""));
    }

    [Test]
    public void Lottery_WithoutAModel_NamesItsRunAsTheDefaultSettingsDo()
    {
        // The default settings' name is pinned in ModelRecipeTests; the command line must give the same one.
        string root = Path.Combine(_dir, "runs");
        string data = Path.Combine(_dir, "data");
        var (code, output, err) = CliTests.Run("lottery", "--data", data, "--validation-size", "16", "--epochs", "1", "--levels", "2", "--branches=", "--root", root);
        Assert.That(code, Is.Zero, err);
        var expected = new LotteryConfig { Recipe = new TrainingRecipe { Data = data, ValidationSize = 16, Epochs = 1 } };
        Assert.That(Directory.GetDirectories(root).Single(), Is.EqualTo(LotteryExperiment.DirectoryFor(expected, root)));
        Assert.That(output, Does.Contain("run directory: "));
    }

    [Test]
    public void Train_OnAResNet_UsesTheRecipe_AndResolvesEpochMilestones()
    {
        string outDir = Path.Combine(_dir, "train");
        var (code, output, err) = CliTests.Run("train", "--model", "resnet8_2", "--data", Path.Combine(_dir, "data"), "--epochs", "2", "--lr-milestones", "1ep", "--out", outDir);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("sgd lr 0.1"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.That(json.RootElement.GetProperty("batch_size").GetInt32(), Is.EqualTo(128));
        Assert.That(json.RootElement.GetProperty("init").GetString(), Is.EqualTo("KaimingNormal"));
    }
}
