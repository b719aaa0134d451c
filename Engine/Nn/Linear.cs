using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// y = x·Wᵀ + b with W [out, in] (PyTorch layout), input [N, in]. A pruned weight (one with a
/// <see cref="Parameter.Mask"/>) runs on the compressed form of its mask when <see cref="Module.Sparse"/> says so,
/// skipping the pruned weights; its pruned entries must then be zero for the two paths to agree (as
/// <see cref="Parameter.ApplyMask"/> leaves them).
/// </summary>
public sealed class Linear : Module
{
    /// <summary>Creates a layer with zero weights; an <see cref="Initializer"/> fills them.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
        {
            throw new ArgumentException($"linear: in_features {inFeatures} and out_features {outFeatures} must be positive");
        }

        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", new Parameter(Tensor.Zeros(outFeatures, inFeatures)));
        Bias = bias ? RegisterParameter("bias", new Parameter(Tensor.Zeros(outFeatures))) : null;
    }

    /// <summary>Input width.</summary>
    public int InFeatures { get; }

    /// <summary>Output width.</summary>
    public int OutFeatures { get; }

    /// <summary>Weights [out, in].</summary>
    public Parameter Weight { get; }

    /// <summary>Bias [out], if any.</summary>
    public Parameter? Bias { get; }

    /// <summary>Whether the last forward pass ran on the compressed form of the weight's mask (the sparse path).</summary>
    public bool LastRunSparse { get; private set; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 2 || input.Shape[1] != InFeatures)
        {
            throw new ArgumentException($"linear: input {Shape.Format(input.Shape)} does not match in_features {InFeatures} (expected [N,{InFeatures}])");
        }

        var mask = Weight.Mask;
        Devices.SparseMatrix? compressed = null;
        LastRunSparse = mask is not null && input.Shape[0] > 0
            && SparseCrossover.Choose(Sparse, Weight, (InFeatures, OutFeatures, input.Shape[0]), static s => SparseCrossover.Linear(s.Item1, s.Item2, s.Item3), out compressed);
        var y = LastRunSparse
            ? Tensor.SparseLinear(input, Weight.Value, mask!, compressed!)
            : Tensor.MatMul(input, Weight.Value, transposeA: false, transposeB: true);
        return Bias is null ? y : y + Bias.Value;
    }
}
