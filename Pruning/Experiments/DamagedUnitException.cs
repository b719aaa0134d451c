namespace SparseNet.Pruning.Experiments;

/// <summary>
/// A finished unit's files no longer match what its <c>result.json</c> recorded (a flipped bit, a replaced
/// mask, a missing tensor): the unit is not reused, and the message names the file and how to train it again.
/// </summary>
public sealed class DamagedUnitException : IOException
{
    /// <summary>Creates the exception for the unit in <paramref name="unitDirectory"/>.</summary>
    public DamagedUnitException(string unitDirectory, string problem, Exception? innerException = null)
        : base($"{problem}; not reusing the finished unit '{unitDirectory}': delete that folder (and the later levels built on it) to train it again", innerException) =>
        UnitDirectory = unitDirectory;

    /// <summary>Creates the exception with a message.</summary>
    public DamagedUnitException(string message)
        : base(message) => UnitDirectory = string.Empty;

    /// <summary>Creates the exception with a message and cause.</summary>
    public DamagedUnitException(string message, Exception innerException)
        : base(message, innerException) => UnitDirectory = string.Empty;

    /// <summary>Creates the exception with no message.</summary>
    public DamagedUnitException() => UnitDirectory = string.Empty;

    /// <summary>The damaged unit's folder.</summary>
    public string UnitDirectory { get; }
}
