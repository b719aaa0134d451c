using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>Runs an exported model in ONNX Runtime, the independent reader the export is checked against.</summary>
internal static class OnnxRuntimeRunner
{
    /// <summary>Feeds <paramref name="input"/> (row-major, <paramref name="shape"/>) to "input" and returns "logits" and its shape.</summary>
    public static (float[] Values, int[] Shape) Run(byte[] model, float[] input, int[] shape)
    {
        // One thread: the tests share two cores with everything else.
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var tensor = new DenseTensor<float>(input, shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();
        return (logits.ToArray(), logits.Dimensions.ToArray());
    }

    /// <summary>The declared dimensions of the model's inputs and outputs by name (-1 for a symbolic one).</summary>
    public static (Dictionary<string, int[]> Inputs, Dictionary<string, int[]> Outputs) Signature(byte[] model)
    {
        using var session = new InferenceSession(model);
        return (
            session.InputMetadata.ToDictionary(kv => kv.Key, kv => kv.Value.Dimensions),
            session.OutputMetadata.ToDictionary(kv => kv.Key, kv => kv.Value.Dimensions));
    }

    /// <summary>The largest |a − b| / max(1, |b|) over two equally long arrays (b the reference).</summary>
    public static double MaxRelativeError(float[] actual, float[] expected)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        double max = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]) / Math.Max(1.0, Math.Abs((double)expected[i]));
            max = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(max, error);
        }

        return max;
    }
}
