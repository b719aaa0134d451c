namespace SparseNet.Engine.IO;

/// <summary>A directory is locked by another process (see <see cref="DirectoryLock"/>).</summary>
public sealed class DirectoryLockedException : IOException
{
    /// <summary>Creates the exception for <paramref name="directory"/> held by <paramref name="holder"/>.</summary>
    public DirectoryLockedException(string directory, string holder, Exception? innerException = null)
        : base($"'{directory}' is in use by {holder}; wait for it to finish or stop it, then run again", innerException)
    {
        Directory = directory;
        Holder = holder;
    }

    /// <summary>Creates the exception with a message.</summary>
    public DirectoryLockedException(string message)
        : base(message)
    {
        Directory = string.Empty;
        Holder = string.Empty;
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public DirectoryLockedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Directory = string.Empty;
        Holder = string.Empty;
    }

    /// <summary>Creates the exception with no message.</summary>
    public DirectoryLockedException()
    {
        Directory = string.Empty;
        Holder = string.Empty;
    }

    /// <summary>The locked directory.</summary>
    public string Directory { get; }

    /// <summary>Who holds it.</summary>
    public string Holder { get; }
}
