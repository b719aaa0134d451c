namespace SparseNet.Engine.Nn;

/// <summary>The built-in model architectures, by name.</summary>
public static class ModelZoo
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["lenet_300_100", "conv2", "conv4", "conv6"];

    /// <summary>
    /// Builds and initialises a model for inputs of <paramref name="inputShape"/> (e.g. [1,28,28]) and
    /// <paramref name="classes"/> outputs.
    /// </summary>
    public static Module Create(string name, int[] inputShape, int classes, InitScheme scheme, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        Module model = name switch
        {
            "lenet_300_100" => LeNet300100(inputShape.Aggregate(1, (a, b) => a * b), classes),
            "conv2" => Conv2(inputShape, classes),
            "conv4" => Conv4(inputShape, classes),
            "conv6" => Conv6(inputShape, classes),
            _ => throw new SettingsException($"unknown model '{name}'; choose one of: {string.Join(", ", Names)}"),
        };
        Initializer.Initialize(model, scheme, seed);
        return model;
    }

    /// <summary>LeNet-300-100: fully connected 784-300-100-10 with ReLU (LeCun et al. 1998; Frankle and Carbin 2019).</summary>
    public static Sequential LeNet300100(int inputs = 784, int classes = 10) => new(
        ("flatten", new Flatten()),
        ("fc1", new Linear(inputs, 300)),
        ("relu1", new ReLU()),
        ("fc2", new Linear(300, 100)),
        ("relu2", new ReLU()),
        ("fc3", new Linear(100, classes)));

    /// <summary>Conv-2 (Frankle and Carbin 2019, Figure 2): two 3×3 conv layers of 64, max pool, 256-256-10 dense.</summary>
    public static Sequential Conv2(int[] inputShape, int classes = 10) => ConvNet("conv2", inputShape, classes, [64]);

    /// <summary>Conv-4 (Frankle and Carbin 2019, Figure 2): 3×3 conv 64-64, pool, 128-128, pool, 256-256-10 dense.</summary>
    public static Sequential Conv4(int[] inputShape, int classes = 10) => ConvNet("conv4", inputShape, classes, [64, 128]);

    /// <summary>Conv-6 (Frankle and Carbin 2019, Figure 2): 3×3 conv 64-64, pool, 128-128, pool, 256-256, pool, 256-256-10 dense.</summary>
    /// <remarks>On 32×32 inputs this has 2.26M weights; the paper's table says 1.7M for the same architecture.</remarks>
    public static Sequential Conv6(int[] inputShape, int classes = 10) => ConvNet("conv6", inputShape, classes, [64, 128, 256]);

    // Stages of two same-padded 3×3 convolutions with ReLU, each followed by a 2×2 max pool, then 256-256-classes dense.
    private static Sequential ConvNet(string name, int[] inputShape, int classes, int[] widths)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length != 3)
        {
            throw new ArgumentException($"{name}: input shape must be [C,H,W], got [{string.Join(",", inputShape)}]");
        }

        int c = inputShape[0], h = inputShape[1], w = inputShape[2];
        if (h >> widths.Length < 1 || w >> widths.Length < 1)
        {
            throw new ArgumentException($"{name}: input {h}×{w} is too small for {widths.Length} 2×2 poolings");
        }

        var layers = new List<(string, Module)>();
        int conv = 0;
        for (int stage = 0; stage < widths.Length; stage++)
        {
            for (int i = 0; i < 2; i++)
            {
                conv++;
                layers.Add(($"conv{conv}", new Conv2d(c, widths[stage], 3, padding: 1)));
                layers.Add(($"relu{conv}", new ReLU()));
                c = widths[stage];
            }

            layers.Add((widths.Length == 1 ? "pool" : $"pool{stage + 1}", new MaxPool2d(2)));
            h /= 2;
            w /= 2;
        }

        layers.Add(("flatten", new Flatten()));
        layers.Add(("fc1", new Linear(c * h * w, 256)));
        layers.Add(($"relu{conv + 1}", new ReLU()));
        layers.Add(("fc2", new Linear(256, 256)));
        layers.Add(($"relu{conv + 2}", new ReLU()));
        layers.Add(("fc3", new Linear(256, classes)));
        return new Sequential([.. layers]);
    }
}
