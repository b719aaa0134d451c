namespace SparseNet.Engine.Autograd;

/// <summary>Disposing ends a no-grad scope opened by <see cref="GradMode.NoGrad"/>.</summary>
public readonly struct NoGradScope : IDisposable, IEquatable<NoGradScope>
{
    private readonly bool _active;

    internal NoGradScope(bool active) => _active = active;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_active)
        {
            GradMode.Leave();
        }
    }

    /// <inheritdoc />
    public bool Equals(NoGradScope other) => _active == other._active;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is NoGradScope other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _active.GetHashCode();

    /// <summary>Equality.</summary>
    public static bool operator ==(NoGradScope left, NoGradScope right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(NoGradScope left, NoGradScope right) => !left.Equals(right);
}
