using System.Globalization;

namespace SparseNet.Engine.IO;

/// <summary>
/// An exclusive, operating-system lock on a directory held by one process at a time: the file
/// <c>.lock</c> in the directory is opened with no sharing (an advisory <c>flock</c> on Unix, a share
/// lock on Windows) for as long as the lock lives. The kernel drops the lock when the process ends in any
/// way, <c>kill -9</c> included, so a crashed holder never leaves the directory locked. The holder
/// describes itself (process id, purpose, start time) in <c>.lock-holder</c>, removed on release, so that a
/// refused process can say who holds it.
/// </summary>
public sealed class DirectoryLock : IDisposable
{
    /// <summary>Name of the lock file inside the locked directory.</summary>
    public const string LockFileName = ".lock";

    /// <summary>Name of the file describing the holder.</summary>
    public const string HolderFileName = ".lock-holder";

    private const int HolderRetries = 20;

    private static readonly TimeSpan HolderRetryDelay = TimeSpan.FromMilliseconds(25);

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
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                System.IO.Directory.CreateDirectory(full);
                stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                break;
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"cannot write in '{full}': {e.Message}", e);
            }
            catch (IOException e) when (System.IO.Directory.Exists(full) && File.Exists(lockPath) && attempt < HolderRetries)
            {
                if (IsSharingViolation(lockPath))
                {
                    // A holder that is just starting has not described itself yet, and one that is just finishing
                    // has already removed its description: look again shortly before naming nobody.
                    string? holder = TryReadHolder(full);
                    if (holder is not null)
                    {
                        throw new DirectoryLockedException(full, holder, e);
                    }
                }

                // Otherwise the holder let go between the two tries: take it now.
                Thread.Sleep(HolderRetryDelay);
            }
            catch (IOException e) when (System.IO.Directory.Exists(full) && File.Exists(lockPath) && IsSharingViolation(lockPath))
            {
                throw new DirectoryLockedException(full, TryReadHolder(full) ?? "another process", e);
            }
            catch (IOException e)
            {
                throw new IOException($"cannot write in '{full}': {e.Message}", e);
            }
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

    /// <summary>
    /// Like <see cref="Acquire(string, string)"/>, but waits up to <paramref name="wait"/> for another holder to let
    /// go (for short holds, such as writing a summary) before throwing <see cref="DirectoryLockedException"/>.
    /// </summary>
    public static DirectoryLock Acquire(string directory, string purpose, TimeSpan wait, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                return Acquire(directory, purpose);
            }
            catch (DirectoryLockedException) when (DateTime.UtcNow < deadline)
            {
                cancellation.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(50));
                cancellation.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>Releases the lock; the holder's description goes first, while no other process can have taken over.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(Path.Combine(Directory, HolderFileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stale description is harmless: the next holder overwrites it.
        }

        _stream.Dispose();
    }

    /// <summary>Whether another process holds the lock on <paramref name="directory"/> right now.</summary>
    public static bool IsHeld(string directory)
    {
        string lockPath = Path.Combine(Path.GetFullPath(directory), LockFileName);
        return File.Exists(lockPath) && IsSharingViolation(lockPath);
    }

    /// <summary>The holder's description, or a placeholder when it cannot be read.</summary>
    public static string ReadHolder(string directory) => TryReadHolder(directory) ?? "another process";

    private static string? TryReadHolder(string directory)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(directory, HolderFileName)).Trim();

            // A description left by a killed holder names a process that is gone (on this machine): not the holder.
            var words = text.Split(' ', 3);
            if (words.Length > 1 && words[0] == "pid" && int.TryParse(words[1], System.Globalization.CultureInfo.InvariantCulture, out int pid) && !IsRunning(pid))
            {
                return null;
            }

            return text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
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
