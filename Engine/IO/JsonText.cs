using System.Text;
using System.Text.Json;

namespace SparseNet.Engine.IO;

/// <summary>The project's JSON files: indented UTF-8 text ending in a newline.</summary>
public static class JsonText
{
    /// <summary>The text <paramref name="write"/> writes with an indented writer, followed by a newline.</summary>
    public static string Indented(Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
