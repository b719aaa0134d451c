namespace SparseNet.Engine.Nn;

/// <summary>
/// The built-in model architectures, by name: the fully connected and convolutional networks of Frankle and
/// Carbin (2019) and open_lth's CIFAR VGG and ResNet families (with batch norm).
/// </summary>
/// <remarks>
/// Every model takes the input shape, so one built for CIFAR-10 (3×32×32) also runs on Fashion-MNIST (1×28×28):
/// the first layer's input channels follow the shape, and the VGG and ResNet heads average over whatever height and
/// width is left, so their output layer does not depend on the image size.
/// </remarks>
public static class ModelZoo
{
    /// <summary>
    /// Names of the built-in models, one per architecture; <c>resnet</c> also takes any depth 6n+2 and width, e.g.
    /// <c>resnet56</c> or <c>resnet20_64</c> (see <see cref="IsKnown"/>).
    /// </summary>
    public static IReadOnlyList<string> Names { get; } =
        ["lenet_300_100", "conv2", "conv4", "conv6", "vgg11", "vgg13", "vgg16", "vgg19", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"];

    /// <summary>The accepted names as one line for help texts and errors.</summary>
    public static string NamesHelp { get; } = "lenet_300_100, conv2, conv4, conv6, vgg11, vgg13, vgg16, vgg19, resnet<6n+2>[_<width>] (e.g. resnet20, resnet56, resnet20_64)";

    /// <summary>Whether <paramref name="name"/> names a built-in model (including every <c>resnet&lt;6n+2&gt;[_&lt;W&gt;]</c>).</summary>
    public static bool IsKnown(string name) => Problem(name) is null;

    /// <summary>Throws a <see cref="SettingsException"/> saying what is wrong with <paramref name="name"/>, unless it names a built-in model.</summary>
    public static void CheckName(string name)
    {
        if (Problem(name) is { } problem)
        {
            throw new SettingsException(problem);
        }
    }

    /// <summary>
    /// Builds and initialises a model for inputs of <paramref name="inputShape"/> (e.g. [1,28,28]) and
    /// <paramref name="classes"/> outputs. Linear and Conv2d weights are drawn by <paramref name="scheme"/>; the VGG
    /// and ResNet models start their batch-norm scales at γ ~ U(0, 1), open_lth's default for them.
    /// </summary>
    public static Module Create(string name, int[] inputShape, int classes, InitScheme scheme, ulong seed)
    {
        var model = Build(name, inputShape, classes);

        // open_lth's models default to batchnorm_init='uniform' (models/cifar_vgg.py and cifar_resnet.py,
        // default_hparams; models/bn_initializers.py draws γ with torch.rand).
        Initializer.Initialize(model, scheme, seed, name.StartsWith("vgg", StringComparison.Ordinal) || name.StartsWith("resnet", StringComparison.Ordinal) ? BatchNormInit.Uniform : BatchNormInit.Ones);
        return model;
    }

    /// <summary>
    /// Builds the architecture <paramref name="name"/> without drawing weights (they are zero, batch norm at γ = 1,
    /// β = 0): for loading a checkpoint, or counting parameters.
    /// </summary>
    public static Module Build(string name, int[] inputShape, int classes)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        CheckName(name);
        if (VggPlans.TryGetValue(name, out var plan))
        {
            return Vgg(name, plan, inputShape, classes);
        }

        if (ParseResNet(name) is (int depth, int width, null))
        {
            return ResNet(name, inputShape, classes, (depth - 2) / 6, width);
        }

        return name switch
        {
            "lenet_300_100" => LeNet300100(inputShape.Aggregate(1, (a, b) => a * b), classes),
            "conv2" => Conv2(inputShape, classes),
            "conv4" => Conv4(inputShape, classes),
            "conv6" => Conv6(inputShape, classes),
            _ => throw new SettingsException($"unknown model '{name}'; choose one of: {NamesHelp}"),
        };
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

    /// <summary>
    /// VGG-11/13/16/19 with batch norm for CIFAR-10 as open_lth builds <c>cifar_vgg_N</c> (models/cifar_vgg.py, after
    /// Simonyan and Zisserman 2015): per plan entry a 3×3 convolution (padding 1, with bias) + batch norm + ReLU, or a
    /// 2×2 max pool; then an average over the remaining positions and one linear layer from 512 to
    /// <paramref name="classes"/>. VGG-16 on 3×32×32 with 10 classes has 14.73M parameters (14.71M prunable weights).
    /// </summary>
    /// <remarks>
    /// open_lth's plans have four pools and end with a fixed 2×2 average pool, which on 32×32 images leaves the 512
    /// features of a 1×1 map; averaging globally does the same there and also fits 28×28 inputs (28 → 14 → 7 → 3 → 1).
    /// Inputs need at least 16×16 pixels. Keys follow open_lth's: <c>layers.0.conv.weight</c>, <c>layers.0.bn.*</c>,
    /// <c>fc.weight</c>. open_lth leaves the biases at PyTorch's default (uniform) draw; here they start at zero: the
    /// convolution biases feed batch norm, which subtracts them out again, so only the output layer's bias differs.
    /// </remarks>
    /// <param name="depth">11, 13, 16 or 19.</param>
    /// <param name="inputShape">[C,H,W] of one image.</param>
    /// <param name="classes">Outputs.</param>
    public static Sequential Vgg(int depth, int[] inputShape, int classes = 10)
    {
        string name = $"vgg{depth}";
        return VggPlans.TryGetValue(name, out var plan)
            ? Vgg(name, plan, inputShape, classes)
            : throw new ArgumentException($"vgg: depth {depth} is not one of 11, 13, 16, 19");
    }

    /// <summary>
    /// ResNet for CIFAR-10 as open_lth builds <c>cifar_resnet_D_W</c> (models/cifar_resnet.py, after He et al. 2016,
    /// section 4.2): a 3×3 stem convolution of <paramref name="width"/> filters + batch norm + ReLU, three stages of
    /// <paramref name="blocksPerStage"/> <see cref="ResidualBlock"/>s at widths W, 2W and 4W (the first block of stages 2
    /// and 3 has stride 2 and a projection shortcut), a global average pool and one linear layer. Depth is
    /// 6·<paramref name="blocksPerStage"/> + 2. ResNet-20 (n = 3, W = 16) on 3×32×32 with 10 classes has 272,474
    /// parameters, the 0.27M of He et al. (2016, Table 6).
    /// </summary>
    /// <remarks>
    /// Convolutions have no bias; keys follow open_lth's: <c>conv.weight</c>, <c>bn.*</c>, <c>blocks.0.conv1.weight</c>,
    /// <c>blocks.3.shortcut.0.weight</c>, <c>fc.weight</c>. Any height and width work: the head averages whatever is left.
    /// </remarks>
    public static Sequential ResNet(int blocksPerStage, int width, int[] inputShape, int classes = 10) =>
        ResNet($"resnet{(6 * blocksPerStage) + 2}_{width}", inputShape, classes, blocksPerStage, width);

    // open_lth models/cifar_vgg.py: numbers are 3×3 convolutions of that many filters, 0 a 2×2 max pool ('M' there).
    private static readonly Dictionary<string, int[]> VggPlans = new(StringComparer.Ordinal)
    {
        ["vgg11"] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
        ["vgg13"] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
        ["vgg16"] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512],
        ["vgg19"] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512],
    };

    private static Sequential Vgg(string name, int[] plan, int[] inputShape, int classes)
    {
        var (c, h, w) = ImageShape(name, inputShape);
        int pools = plan.Count(p => p == 0);
        if (h >> pools < 1 || w >> pools < 1)
        {
            throw new ArgumentException($"{name}: input {h}×{w} is too small for {pools} 2×2 poolings (needs at least {1 << pools}×{1 << pools})");
        }

        var layers = new List<(string, Module)>();
        for (int i = 0; i < plan.Length; i++)
        {
            string key = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (plan[i] == 0)
            {
                layers.Add((key, new MaxPool2d(2)));
                continue;
            }

            layers.Add((key, new Sequential(("conv", new Conv2d(c, plan[i], 3, padding: 1)), ("bn", new BatchNorm2d(plan[i])), ("relu", new ReLU()))));
            c = plan[i];
        }

        return new Sequential(("layers", new Sequential([.. layers])), ("pool", new GlobalAvgPool2d()), ("fc", new Linear(c, classes)));
    }

    private static Sequential ResNet(string name, int[] inputShape, int classes, int blocksPerStage, int width)
    {
        var (c, _, _) = ImageShape(name, inputShape);
        if (blocksPerStage < 1 || width < 1)
        {
            throw new ArgumentException($"{name}: {blocksPerStage} blocks per stage and width {width} must be positive");
        }

        var blocks = new List<(string, Module)>();
        int current = width;
        for (int stage = 0; stage < 3; stage++)
        {
            int filters = width << stage;
            for (int b = 0; b < blocksPerStage; b++)
            {
                blocks.Add((blocks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), new ResidualBlock(current, filters, downsample: stage > 0 && b == 0)));
                current = filters;
            }
        }

        return new Sequential(
            ("conv", new Conv2d(c, width, 3, stride: 1, padding: 1, bias: false)),
            ("bn", new BatchNorm2d(width)),
            ("relu", new ReLU()),
            ("blocks", new Sequential([.. blocks])),
            ("pool", new GlobalAvgPool2d()),
            ("fc", new Linear(current, classes)));
    }

    private static (int C, int H, int W) ImageShape(string name, int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length != 3 || inputShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"{name}: input shape must be [C,H,W] of positive sizes, got [{string.Join(",", inputShape)}]");
        }

        return (inputShape[0], inputShape[1], inputShape[2]);
    }

    // (depth, width, null) for resnet<D>[_<W>], (0, 0, why) for a malformed resnet name, null for other names.
    private static (int Depth, int Width, string? Problem)? ParseResNet(string name)
    {
        if (!name.StartsWith("resnet", StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = name["resnet".Length..].Split('_');
        const System.Globalization.NumberStyles digits = System.Globalization.NumberStyles.None;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length > 2 || parts.Any(p => p.Length > 1 && p[0] == '0') || !int.TryParse(parts[0], digits, culture, out int depth) || (parts.Length == 2 && !int.TryParse(parts[1], digits, culture, out _)))
        {
            return (0, 0, $"model '{name}' is not resnet<depth> or resnet<depth>_<width> with whole numbers (e.g. resnet20, resnet20_64)");
        }

        int width = parts.Length == 2 ? int.Parse(parts[1], digits, culture) : 16;
        if (depth < 8 || (depth - 2) % 6 != 0)
        {
            int below = depth - ((depth - 2) % 6);
            string near = depth < 8 ? "8" : $"{below} or {below + 6}";
            return (0, 0, $"model '{name}': a CIFAR ResNet's depth is 6n+2 (a stem convolution, three stages of n blocks of two convolutions, and the output layer), n ≥ 1; {depth} is not, try {near}");
        }

        if (width < 1)
        {
            return (0, 0, $"model '{name}': width {width} must be at least 1 (the default is 16)");
        }

        return (depth, width, null);
    }

    private static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return $"no model named; choose one of: {NamesHelp}";
        }

        if (ParseResNet(name) is { } resnet)
        {
            return resnet.Problem;
        }

        return name is "lenet_300_100" or "conv2" or "conv4" or "conv6" || VggPlans.ContainsKey(name)
            ? null
            : $"unknown model '{name}'; choose one of: {NamesHelp}";
    }

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
