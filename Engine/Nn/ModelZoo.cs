namespace SparseNet.Engine.Nn;

/// <summary>The built-in model architectures, by name.</summary>
public static class ModelZoo
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["lenet_300_100", "conv2"];

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

    /// <summary>Conv-2 (Frankle and Carbin 2019): two 3×3 conv layers of 64, max pool, 256-256-10 dense.</summary>
    public static Sequential Conv2(int[] inputShape, int classes = 10)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length != 3)
        {
            throw new ArgumentException($"conv2: input shape must be [C,H,W], got [{string.Join(",", inputShape)}]");
        }

        int c = inputShape[0], h = inputShape[1], w = inputShape[2];
        return new Sequential(
            ("conv1", new Conv2d(c, 64, 3, padding: 1)),
            ("relu1", new ReLU()),
            ("conv2", new Conv2d(64, 64, 3, padding: 1)),
            ("relu2", new ReLU()),
            ("pool", new MaxPool2d(2)),
            ("flatten", new Flatten()),
            ("fc1", new Linear(64 * (h / 2) * (w / 2), 256)),
            ("relu3", new ReLU()),
            ("fc2", new Linear(256, 256)),
            ("relu4", new ReLU()),
            ("fc3", new Linear(256, classes)));
    }
}
