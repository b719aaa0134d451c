using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Engine.Data;

/// <summary>
/// SHA-256 fingerprints of data files, so that a run's identity covers the bytes it trained on and
/// not only the name of their folder. Hashing Fashion-MNIST's 30 MB on every start would be felt,
/// so each file's hash is remembered under (full path, length, last-write time in UTC ticks): in
/// memory for the process, and on disk in <see cref="CacheFileName"/> for the next one. A file
/// whose length or time differs gets a different key and is hashed again; a file rewritten with
/// the same length whose time was then set back is the one change the cache cannot see (as with
/// make or rsync). Nothing about the cache is ever fatal: a cache that cannot be read or written is
/// simply not used.
/// </summary>
internal static class DataFingerprint
{
    /// <summary>Environment variable that, when set, names the directory holding the on-disk cache.</summary>
    public const string CacheDirectoryVariable = "SPARSENET_CACHE_DIR";

    /// <summary>Name of the on-disk cache file inside the cache directory.</summary>
    public const string CacheFileName = "data-fingerprints.json";

    // Bumped when the meaning of an entry changes, so an old cache is ignored rather than trusted.
    private const int CacheVersion = 1;

    private static readonly Dictionary<(string Path, long Length, long WriteTicks), string> s_memory = [];
    private static readonly Lock s_gate = new();

    /// <summary>
    /// The on-disk cache directory: <c>$SPARSENET_CACHE_DIR</c> if set, else
    /// <c>$XDG_CACHE_HOME/sparsenet</c> (when absolute, as the XDG spec requires), else
    /// <c>~/.cache/sparsenet</c>; null when none can be determined.
    /// </summary>
    public static string? DefaultCacheDirectory()
    {
        string? overridden = Environment.GetEnvironmentVariable(CacheDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return overridden;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg))
        {
            return Path.Combine(xdg, "sparsenet");
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "sparsenet");
    }

    /// <summary>
    /// <c>"sha256:"</c> and the lowercase hex SHA-256 of one line <c>"{role} {length} {sha256 of the bytes}\n"</c>
    /// per file, in the order given. Paths do not enter it, so equal bytes in two places give equal fingerprints.
    /// </summary>
    /// <param name="files">Each file's role (a stable name for what it holds) and its path.</param>
    /// <param name="cacheDirectory">Directory of the on-disk cache; null to use none.</param>
    public static string Combine(IEnumerable<(string Role, string Path)> files, string? cacheDirectory)
    {
        ArgumentNullException.ThrowIfNull(files);
        var lines = new StringBuilder();
        var hashed = new List<((string Path, long Length, long WriteTicks) Key, string Sha256)>();
        Dictionary<(string, long, long), string>? disk = null;
        foreach ((string role, string path) in files)
        {
            (long length, string sha256) = HashFile(path, cacheDirectory, ref disk, hashed);
            lines.Append(CultureInfo.InvariantCulture, $"{role} {length} {sha256}\n");
        }

        if (hashed.Count > 0 && cacheDirectory is not null)
        {
            TryWriteCache(cacheDirectory, hashed);
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lines.ToString())));
    }

    /// <summary>Forgets the hashes remembered in this process (the on-disk cache stays).</summary>
    public static void ClearMemoryCache()
    {
        lock (s_gate)
        {
            s_memory.Clear();
        }
    }

    private static (long Length, string Sha256) HashFile(
        string path,
        string? cacheDirectory,
        ref Dictionary<(string, long, long), string>? disk,
        List<((string, long, long) Key, string Sha256)> hashed)
    {
        string fullPath = Path.GetFullPath(path);
        using FileStream stream = DataFile.OpenRegular(fullPath, bufferSize: 1 << 20);

        // Stat the open handle, not the path, so the key describes the very file that is read.
        (string Path, long Length, long WriteTicks) key = (fullPath, stream.Length, File.GetLastWriteTimeUtc(stream.SafeFileHandle).Ticks);
        lock (s_gate)
        {
            if (s_memory.TryGetValue(key, out string? known))
            {
                return (key.Length, known);
            }
        }

        if (cacheDirectory is not null)
        {
            disk ??= TryReadCache(cacheDirectory);
            if (disk.TryGetValue(key, out string? stored))
            {
                Remember(key, stored);
                return (key.Length, stored);
            }
        }

        string sha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        long read = stream.Position;

        // A file that changed while it was read gets a correct line (what was read) but no cache entry.
        if (read == key.Length && stream.Length == read && File.GetLastWriteTimeUtc(stream.SafeFileHandle).Ticks == key.WriteTicks)
        {
            Remember(key, sha256);
            hashed.Add((key, sha256));
        }

        return (read, sha256);
    }

    private static void Remember((string, long, long) key, string sha256)
    {
        lock (s_gate)
        {
            s_memory[key] = sha256;
        }
    }

    private static Dictionary<(string, long, long), string> TryReadCache(string cacheDirectory)
    {
        var entries = new Dictionary<(string, long, long), string>();
        try
        {
            string file = Path.Combine(cacheDirectory, CacheFileName);
            if (!File.Exists(file))
            {
                return entries;
            }

            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(file));
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("version", out JsonElement version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != CacheVersion
                || !root.TryGetProperty("files", out JsonElement files) || files.ValueKind != JsonValueKind.Array)
            {
                return entries;
            }

            foreach (JsonElement entry in files.EnumerateArray())
            {
                if (TryReadEntry(entry) is { } parsed)
                {
                    entries[parsed.Key] = parsed.Sha256;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            // An unreadable or corrupt cache only costs a rehash; entries parsed before the fault are kept.
        }

        return entries;
    }

    private static ((string, long, long) Key, string Sha256)? TryReadEntry(JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("path", out JsonElement path) || path.ValueKind != JsonValueKind.String
            || !entry.TryGetProperty("length", out JsonElement length) || !length.TryGetInt64(out long lengthValue)
            || !entry.TryGetProperty("lastWriteUtcTicks", out JsonElement ticks) || !ticks.TryGetInt64(out long ticksValue)
            || !entry.TryGetProperty("sha256", out JsonElement sha256) || sha256.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        // A hash that is not 64 lowercase hex digits was not written by us: better rehash than trust it.
        string hex = sha256.GetString()!;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigitLower))
        {
            return null;
        }

        return ((path.GetString()!, lengthValue, ticksValue), hex);
    }

    private static void TryWriteCache(string cacheDirectory, List<((string, long, long) Key, string Sha256)> hashed)
    {
        try
        {
            // Reread rather than reuse what was read before hashing: another process may have added entries since.
            Dictionary<(string, long, long), string> entries = TryReadCache(cacheDirectory);
            foreach (var (key, sha256) in hashed)
            {
                entries[key] = sha256;
            }

            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("version", CacheVersion);
                json.WriteStartArray("files");
                foreach (var ((path, length, ticks), sha256) in entries.Where(e => StillCurrent(e.Key)).OrderBy(e => e.Key.Item1, StringComparer.Ordinal))
                {
                    json.WriteStartObject();
                    json.WriteString("path", path);
                    json.WriteNumber("length", length);
                    json.WriteNumber("lastWriteUtcTicks", ticks);
                    json.WriteString("sha256", sha256);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            AtomicFile.WriteAllText(Path.Combine(cacheDirectory, CacheFileName), Encoding.UTF8.GetString(buffer.ToArray()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // A cache that cannot be written only means hashing again next time.
        }
    }

    // Entries of files since changed or deleted can never match again; dropping them keeps the cache small.
    private static bool StillCurrent((string Path, long Length, long WriteTicks) key)
    {
        try
        {
            var info = new FileInfo(key.Path);
            return info.Exists && info.Length == key.Length && info.LastWriteTimeUtc.Ticks == key.WriteTicks;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }
}
