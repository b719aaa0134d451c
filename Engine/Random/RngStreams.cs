namespace SparseNet.Engine.Random;

/// <summary>
/// Named Philox streams. Each consumer of randomness draws from its own stream, so that
/// changing how many numbers one consumer takes (say, a different batch size) never shifts
/// the numbers another one sees (say, the initial weights).
/// </summary>
public static class RngStreams
{
    /// <summary>Weight initialisation.</summary>
    public const ulong Weights = 1;

    /// <summary>Order in which training examples are visited each epoch.</summary>
    public const ulong DataOrder = 2;

    /// <summary>Dropout masks drawn during training.</summary>
    public const ulong Dropout = 3;

    /// <summary>Random pruning masks (random-prune baselines, shuffled masks).</summary>
    public const ulong Masks = 4;

    /// <summary>Choice of the validation examples held out of the training set.</summary>
    public const ulong Validation = 5;

    /// <summary>Random crops and flips of the training images (data augmentation).</summary>
    public const ulong Augmentation = 6;

    /// <summary>Choice of the fixed subset of training examples a reduced-budget run trains on.</summary>
    public const ulong TrainSubset = 7;

    /// <summary>Batch-norm scales drawn at initialisation (<see cref="Nn.BatchNormInit.Uniform"/>), apart from the layer weights so that they never shift them.</summary>
    public const ulong BatchNormInit = 16;
}
