using System.Reflection;
using System.Security.Cryptography;
using SparseNet.Engine.IO;

namespace SparseNet.Engine.Data;

/// <summary>
/// The built-in 10,000-digit MNIST subset, embedded in this assembly so that it travels with the package and
/// the installed tool. The readers work on files, so the first use in a process writes the files out once to a
/// folder named after their content (in the user cache, else the temporary directory), checks any copy already
/// there byte for byte, and reuses it.
/// </summary>
internal static class BuiltInData
{
    private const string Prefix = "SparseNet.Data.mnist-10k.";

    private static readonly Lock s_gate = new();
    private static string? s_directory;

    /// <summary>The folder holding the built-in data's files (IDX files and their attribution).</summary>
    public static string Mnist10kDirectory()
    {
        lock (s_gate)
        {
            return s_directory ??= Extract();
        }
    }

    private static string Extract()
    {
        var assembly = typeof(BuiltInData).Assembly;
        var files = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (Name: n[Prefix.Length..], Bytes: Read(assembly, n)))
            .ToList();
        if (files.Count(f => f.Name.EndsWith(".gz", StringComparison.Ordinal)) != DatasetCatalog.FileNames.Count)
        {
            throw new InvalidOperationException($"the built-in dataset is missing from {assembly.GetName().Name}: found {string.Join(", ", files.Select(f => f.Name))}");
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            sha.AppendData(bytes);
        }

        string folder = $"{DatasetCatalog.Mnist10k}-{Convert.ToHexStringLower(sha.GetHashAndReset())[..12]}";
        var failures = new List<string>();
        foreach (string? root in new[] { DataFingerprint.DefaultCacheDirectory(), Path.Combine(Path.GetTempPath(), $"sparsenet-{Environment.UserName}") })
        {
            if (root is null)
            {
                continue;
            }

            string directory = Path.Combine(root, folder);
            try
            {
                foreach (var (name, bytes) in files)
                {
                    string path = Path.Combine(directory, name);
                    if (!SameBytes(path, bytes))
                    {
                        AtomicFile.WriteAllBytes(path, bytes);
                    }
                }

                return directory;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures.Add($"{directory}: {e.Message}");
            }
        }

        throw new IOException($"cannot write the built-in dataset '{DatasetCatalog.Mnist10k}' out to read it: {string.Join("; ", failures)}");
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool SameBytes(string path, byte[] expected)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length == expected.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(expected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
