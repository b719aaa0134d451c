using SparseNet.Engine.Training;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// The published lottery-ticket settings of every built-in model: its training recipe (<see cref="ModelRecipes.For"/>)
/// and how it is pruned. Levels, branches, rewinding, evaluation and seed keep the <see cref="LotteryConfig"/> defaults,
/// and so does the validation set (1,000 examples).
/// </summary>
public static class LotteryRecipes
{
    /// <summary>
    /// The settings for <paramref name="model"/>:
    /// <list type="bullet">
    /// <item><c>lenet_300_100</c>: <see cref="LotteryConfig"/>'s defaults, layerwise 20% per level, the output layer 10%
    /// (Frankle and Carbin 2019); <c>LotteryRecipes.For("lenet_300_100")</c> is the same run as <c>new LotteryConfig()</c>.</item>
    /// <item><c>conv2</c>, <c>conv4</c>, <c>conv6</c> (Frankle and Carbin 2019, Figure 2): layerwise, convolutions 10%, 10%,
    /// 15% per level, fully connected layers 20%, the output layer 10%.</item>
    /// <item><c>vgg*</c> (open_lth models/cifar_vgg.py, <c>default_hparams</c>): global 20% per level (<c>sparse_global</c>),
    /// the output layer <c>fc</c> not pruned (<c>pruning_layers_to_ignore='fc.weight'</c>).</item>
    /// <item><c>resnet*</c> (open_lth models/cifar_resnet.py, <c>default_hparams</c>): global 20% per level over every
    /// convolution and the output layer; open_lth names no layer to ignore for its ResNets (pass
    /// <c>Exclude = ["fc"]</c> to keep the output layer dense, as for VGG).</item>
    /// </list>
    /// </summary>
    /// <exception cref="Engine.SettingsException"><paramref name="model"/> is not a built-in model.</exception>
    public static LotteryConfig For(string model)
    {
        var defaults = new LotteryConfig();
        var recipe = ModelRecipes.For(model) with { ValidationSize = defaults.Recipe.ValidationSize };
        var config = defaults with { Recipe = recipe };
        return model switch
        {
            "conv2" or "conv4" => config with { ConvPruneRate = 0.1 },
            "conv6" => config with { ConvPruneRate = 0.15 },
            _ when model.StartsWith("vgg", StringComparison.Ordinal) => config with { Global = true, Exclude = ["fc"] },
            _ when model.StartsWith("resnet", StringComparison.Ordinal) => config with { Global = true },
            _ => config,
        };
    }
}
