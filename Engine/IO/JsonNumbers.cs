using System.Text.Json;

namespace SparseNet.Engine.IO;

/// <summary>
/// JSON has no NaN or infinity: a value that is not a finite number is written as <c>null</c> and read back as
/// NaN, so every file stays valid for a strict parser (Python's <c>json</c> with <c>allow_nan=False</c>, jq).
/// </summary>
public static class JsonNumbers
{
    /// <summary>Writes <paramref name="value"/>, or <c>null</c> when it is NaN or infinite.</summary>
    public static void Write(Utf8JsonWriter writer, string name, double value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Reads a number written by <see cref="Write"/>: <c>null</c> reads as NaN.</summary>
    public static double Read(JsonElement element) => element.ValueKind == JsonValueKind.Null ? double.NaN : element.GetDouble();
}
