using System.Globalization;

namespace SparseNet.Engine.IO;

/// <summary>
/// An exclusive, operating-system lock on a directory held by one process at a time: the file
/// <c>.lock</c> in the directory is opened with no sharing (an advisory <c>flock</c> on Unix, a share
/// lock on Windows) for as long as the lock lives. The kernel drops the lock when the process ends in any
/// way, <c>kill -9</c> included, so a crashed holder never leaves the directory locked. The holder
/// describes itself (process id, command line, start time) in <c>.lock-holder</c> so that a refused
/// process can say who holds it.
/// </summary>
public sealed class DirectoryLock : IDisposable
{
    /// <summary>Name of the lock file inside the locked directory.</summary>
    public const string LockFileName = ".lock";

    /// <summary>Name of the file describing the holder.</summary>
    public const string HolderFileName = ".lock-holder";

    private readonly FileStream _stream;

    private DirectoryLock(string directory, FileStream stream)
    {
        Directory = directory;
        _stream = stream;
    }

    /// <summary>The locked directory (full path).</summary>
    public string Directory { get; }

    /// <summary>
    /// Creates <paramref name="directory"/> if needed and locks it, or throws <see cref="DirectoryLockedException"/>
    /// naming the holder when another process holds the lock. Also proves the directory writable before any
    /// work starts: a directory that cannot be created or written is an <see cref="IOException"/> naming it.
    /// </summary>
    /// <param name="directory">Directory to lock.</param>
    /// <param name="purpose">What the holder does, shown to refused processes (e.g. <c>sparsenet lottery</c>).</param>
    public static DirectoryLock Acquire(string directory, string purpose)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        string lockPath = Path.Combine(full, LockFileName);
        FileStream stream;
        try
        {
            System.IO.Directory.CreateDirectory(full);
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot write in '{full}': {e.Message}", e);
        }
        catch (IOException e) when (System.IO.Directory.Exists(full) && File.Exists(lockPath) && IsSharingViolation(lockPath))
        {
            throw new DirectoryLockedException(full, ReadHolder(full), e);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot write in '{full}': {e.Message}", e);
        }

        var held = new DirectoryLock(full, stream);
        try
        {
            string holder = string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} ({purpose}) on {Environment.MachineName} since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z");
            AtomicFile.WriteAllText(Path.Combine(full, HolderFileName), holder + "\n");
        }
        catch
        {
            held.Dispose();
            throw;
        }

        return held;
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();

    /// <summary>Whether another process holds the lock on <paramref name="directory"/> right now.</summary>
    public static bool IsHeld(string directory)
    {
        string lockPath = Path.Combine(Path.GetFullPath(directory), LockFileName);
        return File.Exists(lockPath) && IsSharingViolation(lockPath);
    }

    /// <summary>The holder's description, or a placeholder when it cannot be read.</summary>
    public static string ReadHolder(string directory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(directory, HolderFileName)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another process";
        }
    }

    // Distinguishes "someone holds it" from other I/O failures by trying once more to open it.
    private static bool IsSharingViolation(string lockPath)
    {
        try
        {
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            return File.Exists(lockPath);
        }
    }
}
