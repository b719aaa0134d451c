using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// Draws initial weights from the engine's counter-based generator: layer weights in registration order
/// from the weights stream of the seed, so a seed gives the same network on any machine and thread count.
/// Biases start at zero; batch norm starts at β = 0 and γ = 1, or γ drawn from a stream of its own
/// (<see cref="BatchNormInit.Uniform"/>) so that the layer weights are the same whichever way γ starts.
/// </summary>
public static class Initializer
{
    /// <summary>Initialises every Linear and Conv2d weight of <paramref name="model"/> and zeroes their biases; batch norm keeps γ = 1, β = 0.</summary>
    public static void Initialize(Module model, InitScheme scheme, ulong seed) => Initialize(model, scheme, seed, BatchNormInit.Ones);

    /// <summary>
    /// Initialises every Linear and Conv2d weight of <paramref name="model"/>, zeroes their biases, and starts every
    /// <see cref="BatchNorm2d"/> at β = 0 with γ as <paramref name="batchNorm"/> says (drawn in registration order).
    /// </summary>
    public static void Initialize(Module model, InitScheme scheme, ulong seed, BatchNormInit batchNorm)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rng = new Philox(seed, RngStreams.Weights);
        var bnRng = new Philox(seed, RngStreams.BatchNormInit);
        foreach (var layer in Walk(model))
        {
            Parameter? weight = null, bias = null;
            if (layer is Linear linear)
            {
                (weight, bias) = (linear.Weight, linear.Bias);
            }
            else if (layer is Conv2d conv)
            {
                (weight, bias) = (conv.Weight, conv.Bias);
            }
            else if (layer is BatchNorm2d norm)
            {
                FillBatchNorm(norm, batchNorm, bnRng);
            }

            if (weight is null)
            {
                continue;
            }

            Fill(weight.Value, scheme, rng);
            bias?.Value.Fill(0f);
        }
    }

    /// <summary>Fills one weight tensor [out, in, ...] by the scheme.</summary>
    public static void Fill(Tensor weight, InitScheme scheme, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(rng);
        var (fanIn, fanOut) = Fans(weight.Shape);
        double variance = scheme switch
        {
            InitScheme.GlorotNormal => 2.0 / (fanIn + fanOut),
            InitScheme.KaimingNormal => 2.0 / fanIn,
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown init scheme"),
        };
        var values = new float[weight.Size];
        rng.FillNormal(values, 0f, (float)Math.Sqrt(variance));
        weight.CopyFrom(Tensor.FromArray(values, weight.Shape, weight.Device));
    }

    /// <summary>fan_in and fan_out of a weight [out, in, k...] as PyTorch computes them.</summary>
    public static (int FanIn, int FanOut) Fans(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 2)
        {
            throw new ArgumentException($"init: weight shape {Shape.Format(shape)} needs at least 2 dimensions");
        }

        int receptive = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            receptive *= shape[i];
        }

        return (shape[1] * receptive, shape[0] * receptive);
    }

    private static void FillBatchNorm(BatchNorm2d norm, BatchNormInit init, Philox rng)
    {
        norm.Bias.Value.Fill(0f);
        switch (init)
        {
            case BatchNormInit.Ones:
                norm.Weight.Value.Fill(1f);
                break;
            case BatchNormInit.Uniform:
                var values = new float[norm.Channels];
                rng.FillUniform(values, 0f, 1f);
                norm.Weight.Value.CopyFrom(Tensor.FromArray(values, [norm.Channels], norm.Weight.Value.Device));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(init), init, "unknown batch-norm init");
        }
    }

    private static IEnumerable<Module> Walk(Module module)
    {
        var stack = new Stack<Module>();
        stack.Push(module);
        while (stack.Count > 0)
        {
            var m = stack.Pop();
            yield return m;
            foreach (var (_, child) in m.NamedChildren().Reverse())
            {
                stack.Push(child);
            }
        }
    }
}
