using SparseNet.Engine.Nn;

namespace SparseNet.Engine.Training;

/// <summary>
/// The published training recipe of every built-in model (<see cref="ModelZoo"/>): what a run of that model uses
/// for every setting nobody chose. Data and validation size are left at the <see cref="TrainingRecipe"/> defaults.
/// </summary>
public static class ModelRecipes
{
    /// <summary>
    /// The recipe for <paramref name="model"/>:
    /// <list type="bullet">
    /// <item><c>lenet_300_100</c>: <see cref="TrainingRecipe"/>'s defaults (Adam 1.2e-3, batch 60, 20 epochs, Glorot normal).</item>
    /// <item><c>conv2</c>, <c>conv4</c>, <c>conv6</c> (Frankle and Carbin 2019, Figure 2): Adam at 2e-4, 3e-4, 3e-4, batch 60,
    /// Glorot normal, for 20K, 25K and 30K iterations, here whole epochs of CIFAR-10's 45,000 training images
    /// (5,000 held out, 750 batches per epoch), rounded up: 27, 34 and 40 epochs.</item>
    /// <item><c>vgg*</c> and <c>resnet*</c> (open_lth, models/cifar_vgg.py and cifar_resnet.py, <c>default_hparams</c>):
    /// SGD at 0.1 with momentum 0.9 and weight decay 1e-4, batch 128, 160 epochs, the rate ×0.1 after epochs 80 and 120,
    /// Kaiming normal.</item>
    /// </list>
    /// </summary>
    /// <exception cref="SettingsException"><paramref name="model"/> is not a built-in model.</exception>
    public static TrainingRecipe For(string model)
    {
        ModelZoo.CheckName(model);
        return model switch
        {
            "lenet_300_100" => new TrainingRecipe(),
            "conv2" => FrankleCarbinConv(model, 2e-4f, epochs: 27),
            "conv4" => FrankleCarbinConv(model, 3e-4f, epochs: 34),
            "conv6" => FrankleCarbinConv(model, 3e-4f, epochs: 40),
            _ when model.StartsWith("vgg", StringComparison.Ordinal) || model.StartsWith("resnet", StringComparison.Ordinal) => new TrainingRecipe
            {
                Model = model,
                Optimizer = "sgd",
                LearningRate = 0.1f,
                Momentum = 0.9f,
                WeightDecay = 1e-4f,
                BatchSize = 128,
                Epochs = 160,
                LrMilestoneEpochs = [80, 120],
                LrGamma = 0.1f,
                Init = InitScheme.KaimingNormal,
            },
            _ => throw new SettingsException($"no training recipe for model '{model}'"),
        };
    }

    // Frankle and Carbin (2019), Figure 2: the iterations ⌈·/750⌉ give the epochs passed in.
    private static TrainingRecipe FrankleCarbinConv(string model, float learningRate, int epochs) => new()
    {
        Model = model,
        Optimizer = "adam",
        LearningRate = learningRate,
        BatchSize = 60,
        Epochs = epochs,
        Init = InitScheme.GlorotNormal,
    };
}
