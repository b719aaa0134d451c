namespace SparseNet.Engine.Autograd;

/// <summary>Disposing restores the grad mode that <see cref="GradMode.EnableGrad"/> replaced.</summary>
public readonly struct EnableGradScope : IDisposable, IEquatable<EnableGradScope>
{
    private readonly int _previousDepth;

    internal EnableGradScope(int previousDepth) => _previousDepth = previousDepth;

    /// <inheritdoc />
    public void Dispose() => GradMode.Swap(_previousDepth);

    /// <inheritdoc />
    public bool Equals(EnableGradScope other) => _previousDepth == other._previousDepth;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EnableGradScope other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _previousDepth;

    /// <summary>Equality.</summary>
    public static bool operator ==(EnableGradScope left, EnableGradScope right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(EnableGradScope left, EnableGradScope right) => !left.Equals(right);
}
