using System.Security.Cryptography;

namespace SparseNet.Pruning.Experiments;

/// <summary>A file a finished unit wrote, as recorded in its <c>result.json</c>: path relative to the unit's folder, length and SHA-256.</summary>
/// <param name="Path">Path relative to the unit's folder, with forward slashes (e.g. <c>mask.safetensors</c>, <c>../../rewind.safetensors</c>).</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the content.</param>
public sealed record UnitFile(string Path, long Length, string Sha256)
{
    /// <summary>The record of <paramref name="relativePath"/> under <paramref name="unitDirectory"/> as it is on disk now.</summary>
    internal static UnitFile Of(string unitDirectory, string relativePath)
    {
        string full = System.IO.Path.Combine(unitDirectory, relativePath);
        using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return new UnitFile(relativePath, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    /// <summary>
    /// Null when the file under <paramref name="unitDirectory"/> still has this length and hash, else what is wrong
    /// with it (missing, length, content), naming the file.
    /// </summary>
    internal string? Check(string unitDirectory)
    {
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(unitDirectory, Path));
        if (!File.Exists(full))
        {
            return $"'{full}' is missing";
        }

        var now = Of(unitDirectory, Path);
        if (now.Length != Length)
        {
            return $"'{full}' is {now.Length} bytes, result.json recorded {Length}";
        }

        return now.Sha256 != Sha256 ? $"'{full}' has SHA-256 {now.Sha256[..12]}…, result.json recorded {Sha256[..12]}…" : null;
    }
}
