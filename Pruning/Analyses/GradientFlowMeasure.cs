namespace SparseNet.Pruning.Analyses;

/// <summary>
/// The gradient flow of one mask m at the weights w = m ⊙ θ a training starts from, on a fixed set of training
/// examples (see <see cref="GradientFlow.Measure"/>). g is the dense gradient ∂L/∂w at the masked weights, every entry
/// (pruned ones included); m ⊙ g is the gradient the masked network's training uses. Parameters without a mask (biases,
/// batch norm) count as kept.
/// </summary>
/// <param name="Examples">Training examples the loss averages over.</param>
/// <param name="Loss">L(w): mean loss at the masked weights.</param>
/// <param name="DenseGradientNorm">‖g‖.</param>
/// <param name="MaskedGradientNorm">‖m ⊙ g‖.</param>
/// <param name="Cosine">cos(g, m ⊙ g) = ⟨g, m ⊙ g⟩ / (‖g‖ ‖m ⊙ g‖) (NaN when either is 0).</param>
/// <param name="NormRatio">‖m ⊙ g‖ / ‖g‖.</param>
/// <param name="PredictedProgressRatio">⟨g, m ⊙ g⟩ / ‖g‖²: the first-order prediction of <paramref name="MeasuredProgressRatio"/>.</param>
/// <param name="Step">SGD step size η of the measured steps.</param>
/// <param name="DenseStepLoss">L(w − η g).</param>
/// <param name="SparseStepLoss">L(w − η m ⊙ g).</param>
/// <param name="MeasuredProgressRatio">(L(w) − L(w − η m ⊙ g)) / (L(w) − L(w − η g)): the loss decrease of one sparse SGD step relative to one dense step.</param>
/// <param name="PrunableCosine">
/// cos(g, m ⊙ g) over the masked (prunable) tensors alone, leaving out the parameters every mask keeps (biases, batch
/// norm), whose share of the gradient grows as a sparse network's signal fades.
/// </param>
public sealed record GradientFlowMeasure(
    int Examples,
    double Loss,
    double DenseGradientNorm,
    double MaskedGradientNorm,
    double Cosine,
    double NormRatio,
    double PredictedProgressRatio,
    double Step,
    double DenseStepLoss,
    double SparseStepLoss,
    double MeasuredProgressRatio,
    double PrunableCosine)
{
    /// <summary>L(w) − L(w − η g): the loss decrease of the dense step.</summary>
    public double DenseDecrease => Loss - DenseStepLoss;

    /// <summary>L(w) − L(w − η m ⊙ g): the loss decrease of the sparse step.</summary>
    public double SparseDecrease => Loss - SparseStepLoss;
}
