using SparseNet.Engine.Tensors;

namespace SparseNet.Pruning.Strategies;

/// <summary>The data the scores at initialisation look at.</summary>
/// <param name="SnipInputs">SNIP's mini-batch.</param>
/// <param name="SnipLabels">Its labels.</param>
/// <param name="GraspParts">GraSP's examples (a fixed number per class), in the parts its gradients are taken over.</param>
/// <param name="InputShape">Shape of one example, for SynFlow's all-ones input.</param>
public sealed record InitPruneData(Tensor SnipInputs, int[] SnipLabels, IReadOnlyList<(Tensor Inputs, int[] Labels)> GraspParts, int[] InputShape);
