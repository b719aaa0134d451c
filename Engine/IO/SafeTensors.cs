using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SparseNet.Engine.IO;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face; readable by <c>safetensors.torch</c>):
/// an 8-byte little-endian header length N, N bytes of JSON header naming each tensor's dtype,
/// shape and byte range, then the raw little-endian data. Only F32 is supported.
/// </summary>
public static class SafeTensors
{
    /// <summary>Largest header accepted when reading, as in the reference implementation (100 MB).</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).
    /// Tensors are laid out in ordinal name order, so the same input always gives the same bytes.
    /// </summary>
    /// <param name="path">Target file.</param>
    /// <param name="tensors">Tensors by name.</param>
    /// <param name="metadata">Optional free-form string metadata stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentException">A name is empty or reserved, or a tensor's data does not match its shape.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        byte[] bytes = Serialize(tensors, metadata);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The exact bytes <see cref="Write"/> would put in the file.</summary>
    /// <param name="tensors">Tensors by name.</param>
    /// <param name="metadata">Optional free-form string metadata stored under <c>__metadata__</c>.</param>
    /// <returns>The complete file content.</returns>
    /// <exception cref="ArgumentException">A name is empty or reserved, or a tensor's data does not match its shape.</exception>
    public static byte[] Serialize(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        string[] names = tensors.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);

        long offset = 0;
        var offsets = new long[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            SafeTensor tensor = tensors[names[i]];
            ValidateForWrite(names[i], tensor);
            offsets[i] = offset;
            offset += (long)tensor.Data.Length * sizeof(float);
        }

        byte[] header = BuildHeader(names, tensors, offsets, metadata);

        // Spaces pad the header so the data starts 8-byte aligned, as the reference writer does.
        int padded = (header.Length + 7) / 8 * 8;
        long total = 8 + padded + offset;
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"safetensors: {total} bytes do not fit in one in-memory buffer.", nameof(tensors));
        }

        var bytes = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        for (int i = 0; i < names.Length; i++)
        {
            float[] data = tensors[names[i]].Data;
            WriteLittleEndian(data, bytes.AsSpan((int)(8 + padded + offsets[i]), data.Length * sizeof(float)));
        }

        return bytes;
    }

    /// <summary>Reads every tensor and the metadata of a safetensors file.</summary>
    /// <param name="path">File to read.</param>
    /// <returns>Tensors by name, and the <c>__metadata__</c> entries (empty if none).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed, truncated, or holds a dtype other than F32.</exception>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"safetensors file not found: '{path}'.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadFrom(stream, path);
    }

    /// <summary>Parses safetensors content held in memory (the inverse of <see cref="Serialize"/>).</summary>
    /// <param name="bytes">The complete file content.</param>
    /// <returns>Tensors by name, and the <c>__metadata__</c> entries (empty if none).</returns>
    /// <exception cref="InvalidDataException">The content is malformed, truncated, or holds a dtype other than F32.</exception>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Deserialize(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return ReadFrom(stream, "<memory>");
    }

    private static void ValidateForWrite(string name, SafeTensor tensor)
    {
        if (string.IsNullOrEmpty(name) || name == MetadataKey)
        {
            throw new ArgumentException($"safetensors: tensor name '{name}' is empty or reserved.", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Shape is null || tensor.Data is null)
        {
            throw new ArgumentException($"safetensors: tensor '{name}' has a null shape or data.", nameof(tensor));
        }

        long count = 1;
        foreach (int d in tensor.Shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"safetensors: tensor '{name}' has a negative dimension in shape [{string.Join(',', tensor.Shape)}].", nameof(tensor));
            }

            count = count * d;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException($"safetensors: tensor '{name}' shape [{string.Join(',', tensor.Shape)}] has too many elements.", nameof(tensor));
            }
        }

        if (count != tensor.Data.Length)
        {
            throw new ArgumentException($"safetensors: tensor '{name}' shape [{string.Join(',', tensor.Shape)}] needs {count} values but data has {tensor.Data.Length}.", nameof(tensor));
        }
    }

    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, SafeTensor> tensors, long[] offsets, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();

        // Relaxed escaping keeps names like "conv.0+bias" readable; the header is never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (string key in metadata.Keys.Order(StringComparer.Ordinal))
                {
                    json.WriteString(key, metadata[key]);
                }

                json.WriteEndObject();
            }

            for (int i = 0; i < names.Length; i++)
            {
                SafeTensor tensor = tensors[names[i]];
                json.WriteStartObject(names[i]);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[i]);
                json.WriteNumberValue(offsets[i] + (long)tensor.Data.Length * sizeof(float));
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteLittleEndian(float[] data, Span<byte> dest)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(dest);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(dest[(i * sizeof(float))..], data[i]);
        }
    }

    private sealed record Entry(string Name, int[] Shape, long Begin, long End);

    private static (Dictionary<string, SafeTensor>, Dictionary<string, string>) ReadFrom(Stream stream, string source)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw new InvalidDataException($"safetensors '{source}': file is {fileLength} bytes, too short for the 8-byte header length.");
        }

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"safetensors '{source}': header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
        }

        if ((long)headerLength > fileLength - 8)
        {
            throw new InvalidDataException($"safetensors '{source}': header length {headerLength} is larger than the {fileLength - 8} bytes after the length prefix.");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;

        (List<Entry> entries, Dictionary<string, string> metadata) = ParseHeader(header, source);
        CheckLayout(entries, dataLength, source);

        long dataStart = 8 + (long)headerLength;
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (Entry entry in entries)
        {
            var data = new float[(entry.End - entry.Begin) / sizeof(float)];
            stream.Position = dataStart + entry.Begin;
            Span<byte> raw = MemoryMarshal.AsBytes(data.AsSpan());
            stream.ReadExactly(raw);
            if (!BitConverter.IsLittleEndian)
            {
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * sizeof(float))..]);
                }
            }

            tensors.Add(entry.Name, new SafeTensor(entry.Shape, data));
        }

        return (tensors, metadata);
    }

    private static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] header, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors '{source}': header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"safetensors '{source}': header must be a JSON object, found {document.RootElement.ValueKind}.");
            }

            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new InvalidDataException($"safetensors '{source}': header names '{property.Name}' twice.");
                }

                if (property.Name == MetadataKey)
                {
                    ParseMetadata(property.Value, metadata, source);
                }
                else
                {
                    entries.Add(ParseEntry(property.Name, property.Value, source));
                }
            }

            return (entries, metadata);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"safetensors '{source}': {MetadataKey} must be an object of strings, found {value.ValueKind}.");
        }

        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"safetensors '{source}': {MetadataKey} entry '{item.Name}' must be a string, found {item.Value.ValueKind}.");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ParseEntry(string name, JsonElement value, string source)
    {
        string where = $"safetensors '{source}': tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{where}: entry must be an object, found {value.ValueKind}.");
        }

        if (!value.TryGetProperty("dtype", out JsonElement dtype) || dtype.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"{where}: missing string field 'dtype'.");
        }

        if (dtype.GetString() != "F32")
        {
            throw new InvalidDataException($"{where}: dtype {dtype.GetString()} is not supported (only F32).");
        }

        if (!value.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{where}: missing array field 'shape'.");
        }

        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int k = 0;
        foreach (JsonElement d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
            {
                throw new InvalidDataException($"{where}: shape entry {d.GetRawText()} is not an integer.");
            }

            if (dim < 0)
            {
                throw new InvalidDataException($"{where}: shape {shapeElement.GetRawText()} has a negative dimension {dim}.");
            }

            // Dividing first keeps the check itself from overflowing.
            if (dim > int.MaxValue || (dim != 0 && count > Array.MaxLength / dim))
            {
                throw new InvalidDataException($"{where}: shape {shapeElement.GetRawText()} has more elements than an array can hold.");
            }

            count *= dim;
            shape[k++] = (int)dim;
        }

        if (!value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{where}: missing field 'data_offsets' = [begin, end].");
        }

        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new InvalidDataException($"{where}: data_offsets {offsets.GetRawText()} must be integers with 0 <= begin <= end.");
        }

        if (end - begin != count * sizeof(float))
        {
            throw new InvalidDataException($"{where}: data_offsets {offsets.GetRawText()} span {end - begin} bytes but shape {shapeElement.GetRawText()} of F32 needs {count * sizeof(float)}.");
        }

        return new Entry(name, shape, begin, end);
    }

    // Like the reference reader: tensors must tile the data buffer exactly, with no overlap,
    // gap or trailing bytes, so every file accepted here is also accepted by safetensors itself.
    private static void CheckLayout(List<Entry> entries, long dataLength, string source)
    {
        long expected = 0;
        foreach (Entry entry in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (entry.End > dataLength)
            {
                throw new InvalidDataException($"safetensors '{source}': tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] run past the {dataLength}-byte data buffer.");
            }

            if (entry.Begin < expected)
            {
                throw new InvalidDataException($"safetensors '{source}': tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] overlap the previous tensor, which ends at {expected}.");
            }

            if (entry.Begin > expected)
            {
                throw new InvalidDataException($"safetensors '{source}': tensor '{entry.Name}' starts at {entry.Begin}, leaving a gap after byte {expected}.");
            }

            expected = entry.End;
        }

        if (expected != dataLength)
        {
            throw new InvalidDataException($"safetensors '{source}': tensors cover {expected} bytes but the data buffer holds {dataLength}.");
        }
    }
}
