using SparseNet.Engine.Random;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// Zeroes each element with probability p in training and scales the rest by 1/(1−p); the identity in
/// evaluation. Masks come from the dropout stream of the seed, one call after another.
/// </summary>
public sealed class Dropout : Module
{
    private readonly Philox _rng;

    /// <summary>Creates the layer.</summary>
    public Dropout(float p, ulong seed)
    {
        if (!(p >= 0f && p < 1f))
        {
            throw new ArgumentException($"dropout: probability {p} must be in [0, 1)");
        }

        P = p;
        _rng = new Philox(seed, RngStreams.Dropout);
    }

    /// <summary>Drop probability.</summary>
    public float P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (!IsTraining || P == 0f)
        {
            return input;
        }

        var mask = new float[input.Size];
        float keep = 1f / (1f - P);
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = _rng.NextSingle() >= P ? keep : 0f;
        }

        return input * Tensor.FromArray(mask, input.Shape, input.Device);
    }
}
