using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.IO.Onnx;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

public class OnnxExportTests
{
    private const int Images = 100;
    private const double Tolerance = 1e-4;

    private static readonly Lazy<float[]> TestImages = new(() =>
    {
        var (_, test) = DatasetCatalog.Load(DatasetCatalog.Mnist10k);
        return test.Features.AsSpan(0, Images * 784).ToArray();
    });

    private static readonly int[] Mnist = [1, 28, 28];

    /// <summary>
    /// Mimics a ticket: the smaller-magnitude half of every Linear and Conv2d weight is masked to exactly
    /// zero, and biases are given values so that they matter.
    /// </summary>
    private static Module Ticket(string name, ulong seed)
    {
        var model = ModelZoo.Create(name, Mnist, 10, InitScheme.GlorotNormal, seed);
        var random = new System.Random((int)seed);
        foreach (var (key, parameter) in model.NamedParameters())
        {
            float[] values = parameter.Value.ToArray();
            if (key.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.Value.CopyFrom(Tensor.FromArray(values.Select(_ => (float)((random.NextDouble() - 0.5) * 0.2)).ToArray(), parameter.Shape));
                continue;
            }

            float median = values.Select(MathF.Abs).Order().ElementAt(values.Length / 2);
            parameter.Mask = Tensor.FromArray(values.Select(v => MathF.Abs(v) < median ? 0f : 1f).ToArray(), parameter.Shape);
            parameter.ApplyMask();
        }

        return model;
    }

    private static float[] SparseNetLogits(Module model, float[] x, int[] shape)
    {
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        return model.Forward(Tensor.FromArray(x, shape)).ToArray();
    }

    private static double AssertSameLogits(Module model, int[] sample, float[] x, int count)
    {
        int[] shape = [count, .. sample];
        float[] expected = SparseNetLogits(model, x, shape);
        var (actual, actualShape) = OnnxRuntimeRunner.Run(OnnxExport.Serialize(model, sample), x, shape);
        Assert.That(actualShape, Is.EqualTo(new[] { count, expected.Length / count }));
        double error = OnnxRuntimeRunner.MaxRelativeError(actual, expected);
        TestContext.Out.WriteLine($"max |onnx − sparsenet| / max(1, |sparsenet|) over {expected.Length} logits: {error:E2}");
        Assert.That(error, Is.LessThanOrEqualTo(Tolerance));
        return error;
    }

    [TestCase("lenet_300_100")]
    [TestCase("conv2")]
    public void PrunedModel_OnnxRuntimeGivesTheSameLogits(string name)
    {
        var model = Ticket(name, seed: 5);
        var fc1 = model.NamedParameters().Single(p => p.Name == "fc1.weight").Parameter.Value.ToArray();
        Assert.That(fc1.Count(v => v == 0f), Is.EqualTo(fc1.Length / 2).Within(1), "half of fc1 is pruned");

        AssertSameLogits(model, Mnist, TestImages.Value, Images);
    }

    [Test]
    public void PrunedModel_InitializersAreTheStateDictWithItsZeros()
    {
        var model = Ticket("conv2", seed: 2);
        var proto = ModelProto.Parser.ParseFrom(OnnxExport.Serialize(model, Mnist, producerVersion: "test"));

        Assert.That(proto.IrVersion, Is.EqualTo(OnnxExport.IrVersion));
        Assert.That(proto.OpsetImport.Single().Version, Is.EqualTo(13));
        Assert.That(proto.ProducerVersion, Is.EqualTo("test"));
        var state = model.StateDict();
        Assert.That(proto.Graph.Initializer.Select(t => t.Name), Is.EquivalentTo(state.Keys));
        foreach (var tensor in proto.Graph.Initializer)
        {
            var values = state[tensor.Name].ToArray();
            Assert.That(tensor.Dims, Is.EqualTo(state[tensor.Name].Shape.Select(d => (long)d)), tensor.Name);
            var stored = new float[values.Length];
            Buffer.BlockCopy(tensor.RawData.ToByteArray(), 0, stored, 0, tensor.RawData.Length);
            Assert.That(stored, Is.EqualTo(values), $"{tensor.Name} is stored bit for bit, pruned zeros included");
        }

        Assert.That(proto.Graph.Node.Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "Relu", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm" }));
        Assert.That(proto.Graph.Node[^1].Output.Single(), Is.EqualTo("logits"));
    }

    [Test]
    public void Signature_HasADynamicBatch()
    {
        var (inputs, outputs) = OnnxRuntimeRunner.Signature(OnnxExport.Serialize(Ticket("lenet_300_100", seed: 1), Mnist));
        Assert.That(inputs["input"], Is.EqualTo(new[] { -1, 1, 28, 28 }));
        Assert.That(outputs["logits"], Is.EqualTo(new[] { -1, 10 }));

        var proto = ModelProto.Parser.ParseFrom(OnnxExport.Serialize(Ticket("lenet_300_100", seed: 1), Mnist));
        Assert.That(proto.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("batch"));
    }

    [Test]
    public void EveryLayerKind_MatchesInEvaluationMode()
    {
        // Strided, padded convolution; batch norm with trained running statistics; padded pooling where
        // max pooling must ignore the padding and average pooling must count it; dropout that must vanish.
        var model = new Sequential(
            ("conv", new Conv2d(1, 4, 5, stride: 2, padding: 2)),
            ("bn", new BatchNorm2d(4, eps: 1e-3f)),
            ("act", new Tanh()),
            ("max", new MaxPool2d(3, stride: 2, padding: 1)),
            ("drop", new Dropout(0.5f, seed: 3)),
            ("block", new Sequential(
                ("avg", new AvgPool2d(3, stride: 1, padding: 1)),
                ("relu", new ReLU()),
                ("gap", new GlobalAvgPool2d()))),
            ("head", new Linear(4, 3)));
        Initializer.Initialize(model, InitScheme.KaimingNormal, seed: 4);
        var norm = (BatchNorm2d)model.Layers[1];
        norm.Weight.Value.CopyFrom(Tensor.FromArray([1.5f, 0.5f, -1f, 2f], 4));
        norm.Bias.Value.CopyFrom(Tensor.FromArray([0.1f, -0.3f, 0.2f, 0f], 4));
        model.Train();
        using (GradMode.NoGrad())
        {
            // Running statistics away from 0 and 1, as after training.
            model.Forward(Tensor.FromArray(TestImages.Value.AsSpan(0, 20 * 784), 20, 1, 28, 28));
        }

        Assert.That(norm.RunningMean.ToArray(), Has.Some.Not.EqualTo(0f));
        AssertSameLogits(model, Mnist, TestImages.Value.AsSpan(20 * 784, 10 * 784).ToArray(), 10);
        Assert.That(model.Layers[4].IsTraining, Is.False, "compared in evaluation mode");

        var proto = ModelProto.Parser.ParseFrom(OnnxExport.Serialize(model, Mnist));
        Assert.That(proto.Graph.Node.Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "BatchNormalization", "Tanh", "MaxPool", "AveragePool", "Relu", "GlobalAveragePool", "Flatten", "Gemm" }));
        Assert.That(proto.Graph.Node.Select(n => n.Name), Does.Contain("block.gap/GlobalAveragePool"));
    }

    [Test]
    public void ResNet_WithProjectionShortcuts_OnnxRuntimeGivesTheSameLogits()
    {
        var model = Ticket("resnet8_2", seed: 6);
        model.Train();
        using (GradMode.NoGrad())
        {
            // Running statistics away from 0 and 1, as after training.
            model.Forward(Tensor.FromArray(TestImages.Value.AsSpan(0, 20 * 784), 20, 1, 28, 28));
        }

        AssertSameLogits(model, Mnist, TestImages.Value.AsSpan(20 * 784, 10 * 784).ToArray(), 10);
        var proto = ModelProto.Parser.ParseFrom(OnnxExport.Serialize(model, Mnist));
        Assert.That(proto.Graph.Node.Count(n => n.OpType == "Add"), Is.EqualTo(3), "one sum per block");
        Assert.That(proto.Graph.Node.Select(n => n.Name), Does.Contain("blocks.1.shortcut.0").And.Contain("blocks.1/Add"));
        Assert.That(proto.Graph.Initializer.Select(t => t.Name), Is.EquivalentTo(model.StateDict().Keys));
    }

    [Test]
    public void Serialize_IsDeterministic()
    {
        byte[] first = OnnxExport.Serialize(Ticket("lenet_300_100", seed: 9), Mnist);
        byte[] second = OnnxExport.Serialize(Ticket("lenet_300_100", seed: 9), Mnist);
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void Save_WritesTheSerializedBytes()
    {
        string dir = Directory.CreateTempSubdirectory("sparsenet-onnx-").FullName;
        try
        {
            var model = Ticket("lenet_300_100", seed: 3);
            string path = Path.Combine(dir, "sub", "ticket.onnx");
            OnnxExport.Save(model, Mnist, path, producerVersion: "x");
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(OnnxExport.Serialize(model, Mnist, producerVersion: "x")));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "no temporary file is left");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void UnsupportedModule_IsAnErrorNamingIt()
    {
        var model = new Sequential(
            ("flatten", new Flatten()),
            ("block", new Sequential(("fc", new Linear(784, 8)), ("odd", new Square()))));
        var ex = Assert.Throws<NotSupportedException>(() => OnnxExport.Serialize(model, Mnist));
        Assert.That(ex!.Message, Does.Contain("'block.odd'").And.Contain("Square"));
    }

    [Test]
    public void LayerThatDoesNotFitTheInput_IsAnErrorNamingIt()
    {
        var model = ModelZoo.LeNet300100(784, 10);
        var ex = Assert.Throws<ArgumentException>(() => OnnxExport.Serialize(model, [3, 32, 32]));
        Assert.That(ex!.Message, Does.Contain("'fc1'").And.Contain("[N,784]").And.Contain("[N,3072]"));

        Assert.Throws<ArgumentException>(() => OnnxExport.Serialize(model, []));
        Assert.Throws<ArgumentException>(() => OnnxExport.Serialize(model, [1, 0, 28]));
    }

    /// <summary>A module the exporter has never heard of.</summary>
    private sealed class Square : Module
    {
        public override Tensor Forward(Tensor input) => input * input;
    }
}
