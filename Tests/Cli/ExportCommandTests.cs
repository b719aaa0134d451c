using SparseNet.Engine.Autograd;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Cli;

[NonParallelizable]
public class ExportCommandTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-export-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string SaveWeights(string model, int[] inputShape, int classes, ulong seed)
    {
        var m = ModelZoo.Create(model, inputShape, classes, InitScheme.GlorotNormal, seed);
        string path = Path.Combine(_dir, $"{model}-{seed}.safetensors");
        Checkpoint.Save(path, m);
        return path;
    }

    [Test]
    public void Export_WritesAFileOnnxRuntimeRunsLikeTheCheckpoint()
    {
        string weights = SaveWeights("conv2", [1, 12, 12], 4, seed: 7);
        string onnx = Path.Combine(_dir, "out", "ticket.onnx");

        var (code, stdout, stderr) = CliTests.Run("export", weights, "--model", "conv2", "--onnx", onnx, "--input-shape", "1,12,12", "--classes", "4");

        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout.Trim(), Does.StartWith($"wrote {onnx}").And.Contain("[batch,1,12,12]").And.Contain("[batch,4]"));
        Assert.That(stdout.Trim().Split('\n'), Has.Length.EqualTo(1));

        var model = ModelZoo.Create("conv2", [1, 12, 12], 4, InitScheme.GlorotNormal, seed: 1);
        Checkpoint.Load(weights, model);
        model.Eval();
        var x = Enumerable.Range(0, 3 * 144).Select(i => (float)Math.Sin(i * 0.37)).ToArray();
        float[] expected;
        using (GradMode.NoGrad())
        {
            expected = model.Forward(Tensor.FromArray(x, 3, 1, 12, 12)).ToArray();
        }

        var (actual, shape) = OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), x, [3, 1, 12, 12]);
        Assert.That(shape, Is.EqualTo(new[] { 3, 4 }));
        Assert.That(OnnxRuntimeRunner.MaxRelativeError(actual, expected), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void Export_DefaultsToMnistShapeAndTenClasses()
    {
        string weights = SaveWeights("lenet_300_100", [1, 28, 28], 10, seed: 2);
        string onnx = Path.Combine(_dir, "lenet.onnx");
        var (code, _, stderr) = CliTests.Run("export", weights, "--onnx", onnx);
        Assert.That(code, Is.Zero, stderr);
        var (inputs, outputs) = OnnxRuntimeRunner.Signature(File.ReadAllBytes(onnx));
        Assert.That(inputs["input"], Is.EqualTo(new[] { -1, 1, 28, 28 }));
        Assert.That(outputs["logits"], Is.EqualTo(new[] { -1, 10 }));
    }

    [Test]
    public void Export_TakesTheShapeFromData()
    {
        string data = Path.Combine(_dir, "data");
        IdxTestFiles.WriteDataset(data, train: 20, test: 10, gzip: false, rows: 4, cols: 3);
        string weights = SaveWeights("lenet_300_100", [1, 4, 3], 10, seed: 2);
        string onnx = Path.Combine(_dir, "small.onnx");
        var (code, _, stderr) = CliTests.Run("export", weights, "--onnx", onnx, "--data", data);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(OnnxRuntimeRunner.Signature(File.ReadAllBytes(onnx)).Inputs["input"], Is.EqualTo(new[] { -1, 1, 4, 3 }));
    }

    [Test]
    public void MissingWeights_IsExitOneNamingTheFile()
    {
        string missing = Path.Combine(_dir, "no-such.safetensors");
        string onnx = Path.Combine(_dir, "x.onnx");
        var (code, _, stderr) = CliTests.Run("export", missing, "--onnx", onnx);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain(missing));
        Assert.That(File.Exists(onnx), Is.False);
    }

    [Test]
    public void DamagedOrForeignWeights_AreExitOneNamingTheFile()
    {
        string damaged = Path.Combine(_dir, "damaged.safetensors");
        File.WriteAllBytes(damaged, [1, 2, 3]);
        var (code, _, stderr) = CliTests.Run("export", damaged, "--onnx", Path.Combine(_dir, "a.onnx"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain(damaged));

        string conv = SaveWeights("conv2", [1, 28, 28], 10, seed: 1);
        (code, _, stderr) = CliTests.Run("export", conv, "--model", "lenet_300_100", "--onnx", Path.Combine(_dir, "b.onnx"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain(conv).And.Contain("conv1.weight"));
    }

    [TestCase("--input-shape", "1,x,28", "--input-shape")]
    [TestCase("--input-shape", "0", "--input-shape")]
    [TestCase("--classes", "0", "--classes")]
    [TestCase("--model", "resnet", "resnet")]
    public void BadSettings_AreExitTwo(string option, string value, string named)
    {
        string weights = SaveWeights("lenet_300_100", [1, 28, 28], 10, seed: 1);
        var (code, _, stderr) = CliTests.Run("export", weights, "--onnx", Path.Combine(_dir, "x.onnx"), option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(named));
    }

    [Test]
    public void DataAndInputShapeTogether_AreExitTwo()
    {
        string weights = SaveWeights("lenet_300_100", [1, 28, 28], 10, seed: 1);
        var (code, _, stderr) = CliTests.Run("export", weights, "--onnx", Path.Combine(_dir, "x.onnx"), "--data", "mnist-10k", "--input-shape", "1,28,28");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--data").And.Contain("--input-shape"));
    }

    [Test]
    public void ConvOnAFlatShape_IsExitTwo()
    {
        string weights = SaveWeights("lenet_300_100", [1, 28, 28], 10, seed: 1);
        var (code, _, stderr) = CliTests.Run("export", weights, "--model", "conv2", "--onnx", Path.Combine(_dir, "x.onnx"), "--input-shape", "784");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("784").And.Contain("conv2"));
    }
}
