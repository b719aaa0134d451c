using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SparseNet.Engine;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Nn;

public class DeepModelTests
{
    private static readonly int[] Cifar = [3, 32, 32];

    // Parameters of open_lth's cifar_resnet_D_W computed from the architecture (stem, three stages, projection
    // shortcuts where the shape changes, output layer), independently of the model code.
    private static long ResNetParameters(int blocksPerStage, int width, int channels, int classes)
    {
        long total = (9L * channels * width) + (2 * width);
        int current = width;
        for (int stage = 0; stage < 3; stage++)
        {
            int w = width << stage;
            for (int b = 0; b < blocksPerStage; b++)
            {
                total += (9L * current * w) + (9L * w * w) + (4 * w);
                if (stage > 0 && b == 0)
                {
                    total += ((long)current * w) + (2 * w);
                }

                current = w;
            }
        }

        return total + ((long)current * classes) + classes;
    }

    // VGG: each convolution has weights, bias and batch norm γ, β; the output layer reads 512 features.
    private static long VggParameters(int[] convs, int channels, int classes)
    {
        long total = 0;
        int c = channels;
        foreach (int f in convs)
        {
            total += (9L * c * f) + (3 * f);
            c = f;
        }

        return total + (512L * classes) + classes;
    }

    private static readonly int[] Vgg16Convs = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];

    [TestCase("resnet20", 3, 16, 272_474, 0.27)]
    [TestCase("resnet32", 5, 16, 466_906, 0.46)]
    [TestCase("resnet56", 9, 16, 855_770, 0.85)]
    [TestCase("resnet110", 18, 16, 1_730_714, 1.7)]
    public void ResNet_OnCifar_HasThePublishedParameterCount(string name, int n, int width, int expected, double publishedMillions)
    {
        // He et al. (2016, Table 6) count option A shortcuts (zero padding, no parameters); open_lth, and so this model,
        // uses 1×1 projections where the shape changes, which add 2,752 parameters at width 16 (16·32 + 64 + 32·64 + 128).
        // Without those, the counts round to the published figures; with them ResNet-32 and -56 have 0.47M and 0.86M.
        var model = ModelZoo.Build(name, Cifar, 10);
        long total = model.Parameters().Sum(p => (long)p.Size);
        Assert.That(total, Is.EqualTo(ResNetParameters(n, width, 3, 10)));
        Assert.That(total, Is.EqualTo(expected));
        Assert.That(Math.Round((total - 2_752) / 1e6, publishedMillions < 1 ? 2 : 1), Is.EqualTo(publishedMillions));
    }

    [TestCase(false, 6)]
    [TestCase(true, 3)]
    public void AResidualBlockThatWidens_ProjectsItsShortcutWithItsOwnStride(bool downsample, int size)
    {
        var block = new ResidualBlock(4, 8, downsample);
        Initializer.Initialize(block, InitScheme.KaimingNormal, 3);
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 4 * 6 * 6).Select(i => (float)Math.Sin(i)).ToArray(), [2, 4, 6, 6]);
        Assert.That(block.Forward(x).Shape, Is.EqualTo(new[] { 2, 8, size, size }));
        Assert.That(block.Shortcut, Is.Not.Null);
    }

    [Test]
    public void ResNet_WidthVariant_ScalesEveryStage()
    {
        var model = ModelZoo.Build("resnet20_64", Cifar, 10);
        Assert.That(model.Parameters().Sum(p => (long)p.Size), Is.EqualTo(ResNetParameters(3, 64, 3, 10)).And.EqualTo(4_327_754));
        var state = model.StateDict();
        Assert.That(state["conv.weight"].Shape, Is.EqualTo(new[] { 64, 3, 3, 3 }));
        Assert.That(state["blocks.8.conv2.weight"].Shape, Is.EqualTo(new[] { 256, 256, 3, 3 }));
        Assert.That(state["fc.weight"].Shape, Is.EqualTo(new[] { 10, 256 }));
    }

    [TestCase("vgg11", 9_231_114, 9.2)]
    [TestCase("vgg16", 14_728_266, 14.7)]
    [TestCase("vgg19", 20_040_522, 20.0)]
    public void Vgg_OnCifar_HasThePublishedParameterCount(string name, int expected, double publishedMillions)
    {
        // Frankle et al. (2020, Table 1) and open_lth give VGG-16 14.7M and VGG-19 20.0M; those are prunable weights
        // (14,715,584 and 20,024,000 here), the biases and batch norm add under 0.1%.
        var model = ModelZoo.Build(name, Cifar, 10);
        long total = model.Parameters().Sum(p => (long)p.Size);
        Assert.That(total, Is.EqualTo(expected));
        if (name == "vgg16")
        {
            Assert.That(total, Is.EqualTo(VggParameters(Vgg16Convs, 3, 10)));
        }

        long weights = model.NamedParameters().Where(p => p.Name.EndsWith("conv.weight", StringComparison.Ordinal) || p.Name == "fc.weight").Sum(p => (long)p.Parameter.Size);
        Assert.That(Math.Round(weights / 1e6, 1), Is.EqualTo(publishedMillions));
    }

    [TestCase("vgg11")]
    [TestCase("vgg13")]
    [TestCase("vgg16")]
    [TestCase("vgg19")]
    [TestCase("resnet20")]
    [TestCase("resnet14_8")]
    public void DeepModels_GiveOneRowOfLogitsPerImage_OnCifarAndFashionMnistShapes(string name)
    {
        // Built without drawing weights (drawing VGG-19's 20M would cost more than the forward pass).
        foreach (int[] shape in new[] { Cifar, [1, 28, 28] })
        {
            var model = ModelZoo.Build(name, shape, 10);
            Assert.That(model.Forward(Tensor.Zeros([2, .. shape])).Shape, Is.EqualTo(new[] { 2, 10 }), $"{name} on [{string.Join(",", shape)}]");
            string stem = name.StartsWith("vgg", StringComparison.Ordinal) ? "layers.0.conv.weight" : "conv.weight";
            Assert.That(model.StateDict()[stem].Shape[1], Is.EqualTo(shape[0]), "the stem takes the input's channels");
        }
    }

    // VGG runs on CIFAR shapes only: drawing its 9M weights costs most of the test; the 28×28 path is the same
    // layers on smaller maps (shapes checked above), and ResNet covers backward on 28×28.
    [TestCase("vgg11", false)]
    [TestCase("resnet20", true)]
    [TestCase("resnet8_4", true)]
    public void DeepModels_Backward_ReachesEveryParameter(string name, bool fashionMnistToo)
    {
        foreach (int[] shape in fashionMnistToo ? new[] { Cifar, [1, 28, 28] } : [Cifar])
        {
            var model = ModelZoo.Create(name, shape, 10, InitScheme.KaimingNormal, 3);
            var x = Tensor.FromArray(Enumerable.Range(0, 2 * shape[0] * shape[1] * shape[2]).Select(i => MathF.Sin(i * 0.37f)).ToArray(), [2, .. shape]);
            var logits = model.Forward(x);
            Assert.That(logits.ToArray(), Is.All.Matches<float>(float.IsFinite));

            Gradients.Backward(Tensor.SoftmaxCrossEntropy(logits, [3, 7]));
            foreach (var (key, p) in model.NamedParameters())
            {
                Assert.That(p.Grad, Is.Not.Null, key);
                Assert.That(p.Grad!.ToArray().All(float.IsFinite), Is.True, key);
            }

            // The stem's gradient is not zero: the signal went through every block and back.
            string stem = name.StartsWith("vgg", StringComparison.Ordinal) ? "layers.0.conv.weight" : "conv.weight";
            Assert.That(model.NamedParameters().Single(p => p.Name == stem).Parameter.Grad!.ToArray().Any(g => g != 0f), Is.True, $"{stem} on [{string.Join(",", shape)}]");
        }
    }

    [Test]
    public void ConvolutionOrBatchNormFollowedByRelu_RunsFused_WithTheBitsOfTheModulesOneAfterTheOther()
    {
        // Sequential runs a Conv2d or a BatchNorm2d followed by a ReLU as one op; the output, the running statistics and
        // every gradient are the same bits as the modules called one after the other.
        (float[] Y, float[] Grads, float[] Stats) Run(bool fused)
        {
            var first = new Conv2d(3, 5, 3, padding: 1);
            var conv = new Conv2d(5, 4, 3, padding: 1);
            var norm = new BatchNorm2d(4);
            var relu = new ReLU();
            var model = new Sequential(("conv0", first), ("relu0", new ReLU()), ("conv", conv), ("bn", norm), ("relu", relu));
            Initializer.Initialize(model, InitScheme.KaimingNormal, 5, BatchNormInit.Uniform);
            var x = Tensor.FromArray(Enumerable.Range(0, 2 * 3 * 6 * 5).Select(i => MathF.Sin(i * 0.71f)).ToArray(), [2, 3, 6, 5]);
            var y = fused ? model.Forward(x) : relu.Forward(norm.Forward(conv.Forward(first.Forward(x).Relu())));
            var weights = Tensor.FromArray(Enumerable.Range(0, y.Size).Select(i => MathF.Cos(i * 0.3f)).ToArray(), y.Shape);
            Gradients.Backward((y * weights).Sum());
            var grads = model.Parameters().SelectMany(p => p.Grad!.ToArray()).ToArray();
            return (y.ToArray(), grads, [.. norm.RunningMean.ToArray(), .. norm.RunningVar.ToArray()]);
        }

        var plain = Run(fused: false);
        var fused = Run(fused: true);
        Assert.That(plain.Y.Count(v => v == 0f), Is.GreaterThan(plain.Y.Length / 5), "the ReLU must cut values");
        Assert.That(fused.Y, Is.EqualTo(plain.Y).AsCollection, "output");
        Assert.That(fused.Grads, Is.EqualTo(plain.Grads).AsCollection, "parameter gradients");
        Assert.That(fused.Stats, Is.EqualTo(plain.Stats).AsCollection, "running statistics");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ResidualBlock_RunsItsLastBatchNormAdditionAndRelu_AsOneOp_WithTheBitsOfTheSeparateOps(bool downsample)
    {
        (float[] Y, float[] Grads) Run(bool fused)
        {
            var block = new ResidualBlock(4, downsample ? 6 : 4, downsample);
            Initializer.Initialize(block, InitScheme.KaimingNormal, 9, BatchNormInit.Uniform);
            var x = Tensor.FromArray(Enumerable.Range(0, 3 * 4 * 6 * 6).Select(i => MathF.Sin(i * 0.53f)).ToArray(), [3, 4, 6, 6]);
            Tensor y;
            if (fused)
            {
                y = block.Forward(x);
            }
            else
            {
                var residual = block.Bn2.Forward(block.Conv2.Forward(block.Bn1.Forward(block.Conv1.Forward(x)).Relu()));
                y = (residual + (block.Shortcut is null ? x : block.Shortcut.Forward(x))).Relu();
            }

            var weights = Tensor.FromArray(Enumerable.Range(0, y.Size).Select(i => MathF.Cos(i * 0.29f)).ToArray(), y.Shape);
            Gradients.Backward((y * weights).Sum());
            return (y.ToArray(), block.Parameters().SelectMany(p => p.Grad!.ToArray()).ToArray());
        }

        var plain = Run(fused: false);
        var fused = Run(fused: true);
        Assert.That(plain.Y.Count(v => v == 0f), Is.GreaterThan(plain.Y.Length / 5), "the ReLU must cut values");
        Assert.That(fused.Y, Is.EqualTo(plain.Y).AsCollection, "output");
        Assert.That(fused.Grads, Is.EqualTo(plain.Grads).AsCollection, "parameter gradients");
    }

    [Test]
    public void ResNet_StateDictKeys_FollowOpenLth()
    {
        var keys = ModelZoo.Build("resnet20", Cifar, 10).StateDict().Keys.ToList();
        Assert.That(keys.Take(4), Is.EqualTo(new[] { "conv.weight", "bn.weight", "bn.bias", "blocks.0.conv1.weight" }));
        Assert.That(keys, Does.Contain("bn.running_mean").And.Contain("bn.running_var"));
        Assert.That(keys, Does.Contain("blocks.0.conv1.weight").And.Contain("blocks.0.bn2.running_var").And.Contain("blocks.3.shortcut.0.weight").And.Contain("blocks.6.shortcut.1.bias").And.Contain("fc.bias"));
        Assert.That(keys.Where(k => k.Contains("shortcut", StringComparison.Ordinal)).Select(k => k[..k.IndexOf(".shortcut", StringComparison.Ordinal)]).Distinct(), Is.EqualTo(new[] { "blocks.3", "blocks.6" }));
        Assert.That(keys.Where(k => k.Contains("conv", StringComparison.Ordinal) && k.EndsWith(".bias", StringComparison.Ordinal)), Is.Empty, "open_lth's ResNet convolutions have no bias");
        Assert.That(keys.IndexOf("fc.bias"), Is.EqualTo(keys.IndexOf("bn.running_mean") - 1), "parameters first, then buffers");
    }

    [Test]
    public void Vgg_StateDictKeys_FollowOpenLth()
    {
        var state = ModelZoo.Build("vgg11", Cifar, 10).StateDict();
        Assert.That(state["layers.0.conv.weight"].Shape, Is.EqualTo(new[] { 64, 3, 3, 3 }));
        Assert.That(state["layers.0.conv.bias"].Shape, Is.EqualTo(new[] { 64 }), "open_lth's VGG convolutions keep PyTorch's default bias");
        Assert.That(state["layers.2.bn.weight"].Shape, Is.EqualTo(new[] { 128 }));
        Assert.That(state.Keys.Any(k => k.StartsWith("layers.1.", StringComparison.Ordinal)), Is.False, "layers.1 is a max pool");
        Assert.That(state["fc.weight"].Shape, Is.EqualTo(new[] { 10, 512 }));
    }

    [Test]
    public void DeepModels_StartAsOpenLth_KaimingWeights_UniformBatchNormScales_ZeroShifts()
    {
        var a = ModelZoo.Create("resnet20", Cifar, 10, InitScheme.KaimingNormal, 5).StateDict();
        var b = ModelZoo.Create("resnet20", Cifar, 10, InitScheme.KaimingNormal, 5).StateDict();
        var c = ModelZoo.Create("resnet20", Cifar, 10, InitScheme.KaimingNormal, 6).StateDict();
        foreach (var key in a.Keys)
        {
            Assert.That(a[key].ToArray(), Is.EqualTo(b[key].ToArray()), key);
        }

        Assert.That(a["blocks.8.conv2.weight"].ToArray(), Is.Not.EqualTo(c["blocks.8.conv2.weight"].ToArray()));
        var w = a["blocks.8.conv2.weight"].ToArray();
        double variance = w.Select(v => (double)v * v).Average();
        Assert.That(variance, Is.EqualTo(2.0 / (64 * 9)).Within(0.05 * 2.0 / (64 * 9)), "N(0, 2/fan_in)");

        var gammas = a.Where(kv => kv.Key.EndsWith("bn.weight", StringComparison.Ordinal) || kv.Key.EndsWith("bn1.weight", StringComparison.Ordinal) || kv.Key.EndsWith("bn2.weight", StringComparison.Ordinal) || kv.Key.EndsWith("shortcut.1.weight", StringComparison.Ordinal)).SelectMany(kv => kv.Value.ToArray()).ToArray();
        Assert.That(gammas, Has.Length.EqualTo(16 + (3 * 2 * 16) + (3 * 2 * 32) + 32 + (3 * 2 * 64) + 64));
        Assert.That(gammas, Is.All.GreaterThanOrEqualTo(0f).And.All.LessThan(1f));
        Assert.That(gammas.Average(), Is.EqualTo(0.5).Within(0.05));
        Assert.That(a.Where(kv => kv.Key.EndsWith(".bias", StringComparison.Ordinal)).SelectMany(kv => kv.Value.ToArray()), Is.All.EqualTo(0f));
        Assert.That(a["bn.running_var"].ToArray(), Is.All.EqualTo(1f));
    }

    [Test]
    public void BatchNormInit_DrawsFromItsOwnStream_LeavingLayerWeightsAlone()
    {
        var ones = ModelZoo.ResNet(1, 4, Cifar, 10);
        var uniform = ModelZoo.ResNet(1, 4, Cifar, 10);
        Initializer.Initialize(ones, InitScheme.KaimingNormal, 9, BatchNormInit.Ones);
        Initializer.Initialize(uniform, InitScheme.KaimingNormal, 9, BatchNormInit.Uniform);
        foreach (var (key, value) in ones.StateDict())
        {
            var other = uniform.StateDict()[key].ToArray();
            if (key.EndsWith("bn.weight", StringComparison.Ordinal) || key.EndsWith("bn1.weight", StringComparison.Ordinal))
            {
                Assert.That(value.ToArray(), Is.All.EqualTo(1f), key);
                Assert.That(other, Is.Not.EqualTo(value.ToArray()), key);
            }
            else if (!key.Contains("bn", StringComparison.Ordinal) && !key.Contains("shortcut.1", StringComparison.Ordinal) && !key.Contains("bn2", StringComparison.Ordinal))
            {
                Assert.That(other, Is.EqualTo(value.ToArray()), key);
            }
        }
    }

    // Hashes of every initial tensor taken before the deep models were added: adding them (and batch-norm
    // initialisation) must not move a single bit of the existing models' starting weights.
    [TestCase("lenet_300_100", InitScheme.GlorotNormal, "aff000fa89f99ab2")]
    [TestCase("lenet_300_100", InitScheme.KaimingNormal, "79742be68d176286")]
    [TestCase("conv2", InitScheme.GlorotNormal, "bc91d3aed363cbfa")]
    [TestCase("conv2", InitScheme.KaimingNormal, "f9bcf6674aa42758")]
    [TestCase("conv4", InitScheme.GlorotNormal, "9bd3e3c3b4b1cb1a")]
    [TestCase("conv6", InitScheme.KaimingNormal, "29c89066ca274920")]
    public void ExistingModels_KeepTheirInitialWeightsBitForBit(string name, InitScheme scheme, string expected)
    {
        int[] shape = name == "conv2" ? Cifar : [1, 28, 28];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, value) in ModelZoo.Create(name, shape, 10, scheme, 7).StateDict())
        {
            sha.AppendData(Encoding.UTF8.GetBytes(key));
            sha.AppendData(MemoryMarshal.AsBytes(value.ToArray().AsSpan()));
        }

        Assert.That(Convert.ToHexStringLower(sha.GetHashAndReset())[..16], Is.EqualTo(expected));
    }

    [TestCase("resnet56", true)]
    [TestCase("resnet8", true)]
    [TestCase("resnet20_64", true)]
    [TestCase("resnet1202", true)]
    [TestCase("vgg13", true)]
    [TestCase("resnet21", false)]
    [TestCase("resnet020", false)]
    [TestCase("resnet20_", false)]
    [TestCase("resnet20_16_2", false)]
    [TestCase("vgg12", false)]
    [TestCase("ResNet20", false)]
    public void IsKnown_AcceptsEveryResNetDepthOf6nPlus2(string name, bool known) =>
        Assert.That(ModelZoo.IsKnown(name), Is.EqualTo(known));

    [TestCase("resnet21", "6n+2", "try 20 or 26")]
    [TestCase("resnet2", "6n+2", "try 8")]
    [TestCase("resnet20_0", "width 0", "resnet20_0")]
    [TestCase("resnetx", "resnet<depth>", "resnetx")]
    [TestCase("vgg12", "unknown model 'vgg12'", "resnet<6n+2>")]
    public void BadNames_SayWhatIsWrong(string name, string reason, string hint)
    {
        var ex = Assert.Throws<SettingsException>(() => ModelZoo.Create(name, Cifar, 10, InitScheme.KaimingNormal, 1));
        Assert.That(ex!.Message, Does.Contain(reason).And.Contain(hint).And.Contain(name));
    }

    [Test]
    public void Vgg_RefusesImagesTooSmallForItsPools()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Build("vgg16", [3, 8, 8], 10));
        Assert.That(ex!.Message, Does.Contain("8×8").And.Contain("16×16"));
    }

    [Test]
    public void ResidualBlock_IdentityShortcutAddsTheInput()
    {
        // With both batch-norm scales at zero the residual path is β = 0, so the block is relu(x).
        var block = new ResidualBlock(2, 2, downsample: false);
        block.Bn2.Weight.Value.Fill(0f);
        var x = Tensor.FromArray([1f, -2f, 3f, -4f, 5f, -6f, 7f, -8f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 3.5f, -3.5f], 2, 2, 2, 2);
        Assert.That(block.Forward(x).ToArray(), Is.EqualTo(x.ToArray().Select(v => MathF.Max(v, 0f)).ToArray()));
        Assert.That(block.Shortcut, Is.Null);
        Assert.That(new ResidualBlock(2, 4, downsample: true).Forward(x).Shape, Is.EqualTo(new[] { 2, 4, 1, 1 }));
    }
}
