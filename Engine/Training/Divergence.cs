namespace SparseNet.Engine.Training;

/// <summary>
/// Where and how a training diverged: the first iteration whose loss (or, checked after every epoch, any
/// weight) was not a finite number. The update of that iteration is not applied.
/// </summary>
/// <param name="Iteration">1-based iteration at which the non-finite value appeared.</param>
/// <param name="Loss">The loss of that iteration (NaN or ±∞; NaN when the weights were the non-finite part).</param>
/// <param name="LastFiniteLoss">Loss of the last iteration before it, or null when the first iteration diverged.</param>
/// <param name="Cause"><c>loss</c> or <c>weights</c>.</param>
public sealed record Divergence(int Iteration, float Loss, float? LastFiniteLoss, string Cause)
{
    /// <summary>One line for a user: <c>training diverged at iteration 3 (loss NaN; last finite loss 2.3026)</c>.</summary>
    public override string ToString()
    {
        string last = LastFiniteLoss is { } l ? l.ToString("G5", System.Globalization.CultureInfo.InvariantCulture) : "none";
        string what = Cause == "weights" ? "non-finite weights" : $"loss {Loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        return $"training diverged at iteration {Iteration} ({what}; last finite loss {last})";
    }
}
