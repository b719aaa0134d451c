using SparseNet.Kernels.Cpu;

namespace SparseNet.Benchmarks;

/// <summary>A named convolution layer shape of a published network at its training batch size.</summary>
public sealed record ConvCase(string Name, ConvShape Shape)
{
    /// <summary>FLOPs of one product (forward, input gradient or weight gradient): 2·N·O·C·KH·KW·OH·OW.</summary>
    public long Flops => 2 * Shape.MultiplyAdds;

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>
    /// Every distinct 3×3 (and shortcut 1×1) layer of Conv-2/4/6 (Frankle and Carbin 2019: batch 60, CIFAR-10 32×32,
    /// same padding), VGG-16 (batch 128, 2×2 pools after each stage) and ResNet-20 (He et al. 2016 CIFAR ResNet:
    /// batch 128, stages of 16/32/64 channels at 32/16/8 pixels, stride-2 first layers, 1×1 stride-2 projections).
    /// </summary>
    public static IReadOnlyList<ConvCase> All { get; } =
    [
        Same("conv2/4/6 3→64 @32 b60", 60, 3, 64, 32),
        Same("conv2/4/6 64→64 @32 b60", 60, 64, 64, 32),
        Same("conv4/6 64→128 @16 b60", 60, 64, 128, 16),
        Same("conv4/6 128→128 @16 b60", 60, 128, 128, 16),
        Same("conv6 128→256 @8 b60", 60, 128, 256, 8),
        Same("conv6 256→256 @8 b60", 60, 256, 256, 8),
        Same("vgg16 3→64 @32 b128", 128, 3, 64, 32),
        Same("vgg16 64→64 @32 b128", 128, 64, 64, 32),
        Same("vgg16 64→128 @16 b128", 128, 64, 128, 16),
        Same("vgg16 128→128 @16 b128", 128, 128, 128, 16),
        Same("vgg16 128→256 @8 b128", 128, 128, 256, 8),
        Same("vgg16 256→256 @8 b128", 128, 256, 256, 8),
        Same("vgg16 256→512 @4 b128", 128, 256, 512, 4),
        Same("vgg16 512→512 @4 b128", 128, 512, 512, 4),
        Same("vgg16 512→512 @2 b128", 128, 512, 512, 2),
        Same("resnet20 3→16 @32 b128", 128, 3, 16, 32),
        Same("resnet20 16→16 @32 b128", 128, 16, 16, 32),
        new("resnet20 16→32 s2 @32 b128", new ConvShape(128, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1)),
        Same("resnet20 32→32 @16 b128", 128, 32, 32, 16),
        new("resnet20 32→64 s2 @16 b128", new ConvShape(128, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1)),
        Same("resnet20 64→64 @8 b128", 128, 64, 64, 8),
        new("resnet20 1×1 16→32 s2 b128", new ConvShape(128, 16, 32, 32, 32, 1, 1, 2, 2, 0, 0)),
        new("resnet20 1×1 32→64 s2 b128", new ConvShape(128, 32, 16, 16, 64, 1, 1, 2, 2, 0, 0)),
    ];

    private static ConvCase Same(string name, int n, int c, int o, int size) =>
        new(name, new ConvShape(n, c, size, size, o, 3, 3, 1, 1, 1, 1));
}
