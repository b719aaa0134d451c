using System.Buffers.Binary;
using System.IO.Compression;

namespace SparseNet.Tests.Engine;

/// <summary>Builds small synthetic IDX files (raw or gzipped) for reader and catalog tests.</summary>
internal static class IdxTestFiles
{
    public static byte[] Images(int count, int rows, int cols, Func<int, byte>? pixel = null)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 2051);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 0; i < count * rows * cols; i++)
        {
            bytes[16 + i] = pixel?.Invoke(i) ?? (byte)(i % 256);
        }

        return bytes;
    }

    public static byte[] Labels(params byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 2049);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(raw);
        }

        return output.ToArray();
    }

    /// <summary>Writes the four dataset files; <paramref name="gzip"/> decides raw vs ".gz" names.</summary>
    public static void WriteDataset(string dir, int train, int test, bool gzip, int rows = 4, int cols = 3)
    {
        Directory.CreateDirectory(dir);
        void Put(string name, byte[] raw) =>
            File.WriteAllBytes(Path.Combine(dir, gzip ? name + ".gz" : name), gzip ? Gzip(raw) : raw);

        Put("train-images-idx3-ubyte", Images(train, rows, cols));
        Put("train-labels-idx1-ubyte", Labels(Enumerable.Range(0, train).Select(i => (byte)(i % 10)).ToArray()));
        Put("t10k-images-idx3-ubyte", Images(test, rows, cols, i => 255));
        Put("t10k-labels-idx1-ubyte", Labels(Enumerable.Range(0, test).Select(i => (byte)(9 - i % 10)).ToArray()));
    }
}
