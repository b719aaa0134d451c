namespace SparseNet.Tests.Engine.Autograd;

/// <summary>How a gradient check draws an input, so each op sees values where it is smooth.</summary>
public enum InputKind
{
    /// <summary>Uniform in [−1, 1].</summary>
    Uniform,

    /// <summary>Uniform in [0.5, 2]: logs, square roots, fractional powers, denominators.</summary>
    Positive,

    /// <summary>Magnitude in [0.1, 1] with a random sign: away from the kink of relu and abs, safe denominators.</summary>
    AwayFromZero,

    /// <summary>A shuffled evenly spaced grid in [−1, 1]: no ties for max and max pooling.</summary>
    Distinct,
}
