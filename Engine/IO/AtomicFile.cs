using System.Text;

namespace SparseNet.Engine.IO;

/// <summary>
/// Writes files so that a reader sees either the old content or the complete new content,
/// never a half-written file: data goes to a temp file in the same directory, is flushed to
/// disk, then renamed over the target (a rename within one directory is atomic).
/// </summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    /// <param name="path">Target file; its directory is created if missing.</param>
    /// <param name="bytes">The complete new content.</param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        // A span cannot be captured by the callback, so this repeats the write sequence.
        string target = PrepareTarget(path);
        string temp = TempPathFor(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="text"/> as UTF-8 (no BOM).</summary>
    /// <param name="path">Target file; its directory is created if missing.</param>
    /// <param name="text">The complete new content.</param>
    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with whatever <paramref name="write"/> writes to
    /// the stream it is given. If <paramref name="write"/> throws, the target is left untouched.
    /// </summary>
    /// <param name="path">Target file; its directory is created if missing.</param>
    /// <param name="write">Writes the complete new content; must not close the stream.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string target = PrepareTarget(path);
        string temp = TempPathFor(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static string PrepareTarget(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("AtomicFile: the target path is empty.", nameof(path));
        }

        string target = Path.GetFullPath(path);
        if (Directory.Exists(target))
        {
            throw new IOException($"AtomicFile: cannot write '{target}': it is a directory.");
        }

        string? directory = Path.GetDirectoryName(target);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        return target;
    }

    // Same directory as the target so the final move is a rename, not a copy across devices.
    /// <summary>
    /// Deletes temporary files that writes interrupted by a crash or <c>kill -9</c> left under
    /// <paramref name="directory"/> (never a finished file: those are only ever renamed into place).
    /// Returns how many were removed.
    /// </summary>
    public static int RemoveLeftovers(string directory) => RemoveLeftovers(directory, recursive: true);

    /// <summary>
    /// Like <see cref="RemoveLeftovers(string)"/>; with <paramref name="recursive"/> false, only in
    /// <paramref name="directory"/> itself (its subdirectories may belong to another writer).
    /// </summary>
    public static int RemoveLeftovers(string directory, bool recursive)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int removed = 0;
        foreach (string path in Directory.EnumerateFiles(directory, ".*.tmp", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly))
        {
            string name = Path.GetFileName(path);
            int dot = name.LastIndexOf('.', name.Length - 5);
            if (dot > 0 && name.Length - 4 - (dot + 1) == 32 && Guid.TryParseExact(name[(dot + 1)..^4], "N", out _))
            {
                File.Delete(path);
                removed++;
            }
        }

        return removed;
    }

    private static string TempPathFor(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // The original failure matters more than a leftover temp file.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
