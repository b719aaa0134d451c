namespace SparseNet.Engine;

/// <summary>
/// A setting or input named by the caller makes no sense (unknown model, a rate out of range, a plan that
/// would prune a layer away). Thrown where settings are validated, so a front end can tell a user's
/// mistake (the CLI's usage error, exit 2) from a failure while running (exit 1). Derives from
/// <see cref="ArgumentException"/>, so code that catches argument errors still sees it.
/// </summary>
public sealed class SettingsException : ArgumentException
{
    /// <summary>Creates the exception with a message naming the values involved.</summary>
    public SettingsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that revealed the problem.</summary>
    public SettingsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message (prefer the overloads that name the values).</summary>
    public SettingsException()
    {
    }
}
