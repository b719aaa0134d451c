using System.Buffers.Binary;
using System.IO.Compression;

namespace SparseNet.Engine.Data;

/// <summary>
/// Reads the IDX format of the MNIST family: a big-endian magic number (2051 for images, 2049
/// for labels), big-endian int32 dimensions, then unsigned bytes. Files may be raw or gzipped;
/// gzip is recognised by its magic bytes (1f 8b), not by the file name.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned-byte images (3 dimensions).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned-byte labels (1 dimension).</summary>
    public const int LabelsMagic = 0x00000801;

    // First buffer for a stream of unknown length: larger than the label files of the MNIST family, so
    // those never regrow, and small enough that a lying header costs nothing worth mentioning.
    private const int InitialChunkBytes = 1 << 20;

    /// <summary>Reads an image file (magic 2051).</summary>
    /// <param name="path">Raw or gzipped IDX file.</param>
    /// <returns>The images.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Wrong magic number, nonsensical dimensions, truncated or over-long data, a broken gzip stream, or not a regular file (a pipe or device).</exception>
    public static IdxImages ReadImages(string path)
    {
        using Stream stream = Open(path);
        Span<byte> header = stackalloc byte[16];
        ReadHeader(stream, header, path, "images");
        CheckMagic(header, ImagesMagic, "images", path);
        int count = ReadDim(header[4..], "image count", path);
        int rows = ReadDim(header[8..], "rows", path);
        int cols = ReadDim(header[12..], "cols", path);
        if (rows == 0 || cols == 0)
        {
            throw new InvalidDataException($"IDX '{path}': images of {rows}x{cols} pixels make no sense.");
        }

        long size = (long)count * rows * cols;
        if (size > Array.MaxLength)
        {
            throw new InvalidDataException($"IDX '{path}': declares {count} images of {rows}x{cols} = {size} bytes, more than an array can hold.");
        }

        byte[] pixels = ReadPayload(stream, size, path, $"declares {count} images of {rows}x{cols} = {size} bytes");
        return new IdxImages(count, rows, cols, pixels);
    }

    /// <summary>Reads a label file (magic 2049).</summary>
    /// <param name="path">Raw or gzipped IDX file.</param>
    /// <returns>One byte per label.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Wrong magic number, nonsensical count, truncated or over-long data, a broken gzip stream, or not a regular file (a pipe or device).</exception>
    public static byte[] ReadLabels(string path)
    {
        using Stream stream = Open(path);
        Span<byte> header = stackalloc byte[8];
        ReadHeader(stream, header, path, "labels");
        CheckMagic(header, LabelsMagic, "labels", path);
        int count = ReadDim(header[4..], "label count", path);
        if (count > Array.MaxLength)
        {
            throw new InvalidDataException($"IDX '{path}': declares {count} labels = {count} bytes, more than an array can hold.");
        }

        return ReadPayload(stream, count, path, $"declares {count} labels = {count} bytes");
    }

    // GZipStream reports a corrupt stream as an InvalidDataException without the file name.
    private static int Fill(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"IDX '{path}': cannot decompress: {e.Message}", e);
        }
    }

    private static Stream Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file not found: '{path}'.", path);
        }

        FileStream file = DataFile.OpenRegular(path);
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
        }

        return file;
    }

    private static void ReadHeader(Stream stream, Span<byte> header, string path, string kind)
    {
        int n = Fill(stream, header, path);
        if (n < header.Length)
        {
            throw new InvalidDataException($"IDX '{path}': {n} bytes is too short for the {header.Length}-byte {kind} header.");
        }
    }

    private static void CheckMagic(ReadOnlySpan<byte> header, int expected, string kind, string path)
    {
        int found = BinaryPrimitives.ReadInt32BigEndian(header);
        if (found != expected)
        {
            string hint = found switch
            {
                ImagesMagic => " (that is an images file)",
                LabelsMagic => " (that is a labels file)",
                _ => "",
            };
            throw new InvalidDataException($"IDX '{path}': bad magic number: expected {expected} ({kind}), found {found}{hint}.");
        }
    }

    private static int ReadDim(ReadOnlySpan<byte> bytes, string what, string path)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (value < 0)
        {
            throw new InvalidDataException($"IDX '{path}': {what} is negative ({value}).");
        }

        return value;
    }

    private static byte[] ReadPayload(Stream stream, long size, string path, string declaration)
    {
        byte[] data = stream.CanSeek
            ? ReadKnownLength(stream, size, path, declaration)
            : ReadUnknownLength(stream, size, path, declaration);

        Span<byte> probe = stackalloc byte[1];
        if (Fill(stream, probe, path) != 0)
        {
            throw new InvalidDataException($"IDX '{path}': {declaration} but the file holds more data after them.");
        }

        return data;
    }

    // A raw file can be checked before allocating, so a corrupt count cannot ask for gigabytes.
    private static byte[] ReadKnownLength(Stream stream, long size, string path, string declaration)
    {
        long present = stream.Length - stream.Position;
        if (present < size)
        {
            throw new InvalidDataException($"IDX '{path}': truncated: {declaration} but only {present} present.");
        }

        var data = new byte[size];
        int n = Fill(stream, data, path);
        if (n < data.Length)
        {
            throw new InvalidDataException($"IDX '{path}': truncated: {declaration} but only {n} present.");
        }

        return data;
    }

    // A gzip stream cannot say how much it holds, and its header's count is only a claim: a few bytes
    // declaring 2^31 labels must not make us allocate 2 GiB (or die trying). So the buffer grows only
    // after the data already read has filled it, doubling each time: memory stays within a small multiple
    // of what the stream really delivers (the old and the doubled buffer during a copy) and the copying
    // adds up to less than the payload's size.
    private static byte[] ReadUnknownLength(Stream stream, long size, string path, string declaration)
    {
        var data = new byte[Math.Min(size, InitialChunkBytes)];
        long filled = 0;
        while (true)
        {
            filled += Fill(stream, data.AsSpan((int)filled), path);
            if (filled < data.Length)
            {
                throw new InvalidDataException($"IDX '{path}': truncated: {declaration} but only {filled} present.");
            }

            if (filled == size)
            {
                return data;
            }

            Array.Resize(ref data, (int)Math.Min(size, 2L * data.Length));
        }
    }
}
