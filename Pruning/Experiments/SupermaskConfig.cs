using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparseNet.Engine;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Settings of a supermask experiment (Ramanujan et al. 2020, edge-popup): weights frozen at a random
/// initialisation, a score per weight trained through a straight-through top-k that keeps <see cref="Density"/> of
/// each layer, beside a random mask of the same density on the same frozen weights.
/// </summary>
public sealed record SupermaskConfig
{
    /// <summary>
    /// Recipe (it trains the scores, never the weights), seeds, validation hold-out and evaluation interval. Its
    /// initialisation must be Kaiming normal: <see cref="Weights"/> says what is made of it.
    /// </summary>
    public LotteryConfig Training { get; init; } = new() { Recipe = RecipeFor("lenet_300_100"), Levels = 1, Branches = [] };

    /// <summary>Fraction of each prunable layer's weights the mask keeps, in (0, 1].</summary>
    public double Density { get; init; } = 0.5;

    /// <summary>Iterations of score training; null (the default): the recipe's epochs.</summary>
    public int? Iterations { get; init; }

    /// <summary>The frozen random weights: signed Kaiming constant (the default) or Kaiming normal.</summary>
    public SupermaskWeights Weights { get; init; } = SupermaskWeights.SignedConstant;

    /// <summary>
    /// The score-training recipe of <paramref name="model"/>: its weight-training recipe (<see cref="ModelRecipes.For"/>)
    /// for data, batch size and epochs, with Kaiming normal weights and, for the scores, Adam at 1e-3 (on LeNet-300-100 and
    /// MNIST-10k it found better supermasks than the reference implementation's SGD at 0.1 with momentum 0.9) and 1,000
    /// examples held out for validation.
    /// </summary>
    public static TrainingRecipe RecipeFor(string model) => ModelRecipes.For(model) with
    {
        Init = InitScheme.KaimingNormal,
        Optimizer = "adam",
        LearningRate = 1e-3f,
        Momentum = 0f,
        Nesterov = false,
        WeightDecay = 0f,
        ValidationSize = 1000,
    };

    /// <summary>Checks every value, naming the bad one.</summary>
    public void Validate()
    {
        Training.Validate();
        Require(Density > 0 && Density <= 1, $"density must be in (0, 1], got {Density.ToString(CultureInfo.InvariantCulture)}");
        Require(Training.Recipe.Init == InitScheme.KaimingNormal, $"supermask weights are drawn Kaiming normal (then made signed constant or kept, see weights), not {Training.Recipe.Init}");
        Require(Enum.IsDefined(Weights), $"unknown supermask weights {Weights}");
        Require(Iterations is null or > 0, $"iterations must be positive, got {Iterations}");
    }

    /// <summary>The command-line name of <paramref name="weights"/>: <c>signed-constant</c> or <c>kaiming-normal</c>.</summary>
    public static string WeightsName(SupermaskWeights weights) => weights switch
    {
        SupermaskWeights.SignedConstant => "signed-constant",
        SupermaskWeights.KaimingNormal => "kaiming-normal",
        _ => throw new ArgumentOutOfRangeException(nameof(weights), weights, "unknown supermask weights"),
    };

    /// <summary>Short hash naming the run: of the training settings (as <see cref="LotteryConfig"/> names its runs), the density, the weights and the iterations when given.</summary>
    internal string Hash(string dataFingerprint)
    {
        string text = string.Create(CultureInfo.InvariantCulture, $"experiment=supermask\ntraining={Training.Hash(dataFingerprint)}\ndensity={Density:R}\nweights={WeightsName(Weights)}");
        if (Iterations is { } iterations)
        {
            // Only a count given in iterations enters the name, so runs counted in epochs keep theirs.
            text += string.Create(CultureInfo.InvariantCulture, $"\niterations={iterations}");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];
    }

    /// <summary>The training settings' JSON with this experiment's own settings added.</summary>
    internal string HyperparametersJson(string trainingJson)
    {
        var node = JsonNode.Parse(trainingJson)!.AsObject();
        node["experiment"] = "supermask";
        node["density"] = Density;
        node["weights"] = WeightsName(Weights);
        if (Iterations is { } iterations)
        {
            node["iterations"] = iterations;
        }

        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Whether <paramref name="runDirectory"/> holds a supermask experiment (its hyperparameters say so).</summary>
    public static bool IsSupermaskRun(string runDirectory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDirectory, "hyperparameters.json")));
            return doc.RootElement.TryGetProperty("experiment", out var e) && e.ValueKind == JsonValueKind.String && e.GetString() == "supermask";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return false;
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SettingsException(message);
        }
    }
}
