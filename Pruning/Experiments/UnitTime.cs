using System.Globalization;
using System.Text.Json;
using SparseNet.Engine.IO;

namespace SparseNet.Pruning.Experiments;

/// <summary>
/// The wall-clock time a unit's training took, in <c>time.json</c> beside its <c>result.json</c>. It is kept out
/// of the result (and of the files the result checks) because it differs from run to run while the result must not.
/// </summary>
public static class UnitTime
{
    /// <summary>File name of the record in a unit's folder.</summary>
    public const string FileName = "time.json";

    /// <summary>Writes <paramref name="seconds"/> of training time to <paramref name="unitDirectory"/>.</summary>
    public static void Write(string unitDirectory, double seconds) =>
        AtomicFile.WriteAllText(Path.Combine(unitDirectory, FileName), string.Create(CultureInfo.InvariantCulture, $"{{\"training_seconds\": {seconds:0.###}}}\n"));

    /// <summary>The training seconds recorded in <paramref name="unitDirectory"/>, or null where none (or an unreadable record) is there.</summary>
    public static double? Read(string unitDirectory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(unitDirectory, FileName)));
            return doc.RootElement.GetProperty("training_seconds").GetDouble();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
