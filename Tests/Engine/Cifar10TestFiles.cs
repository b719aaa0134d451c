namespace SparseNet.Tests.Engine;

/// <summary>Builds small synthetic CIFAR-10 binary batches (records of 1 label byte + 3,072 pixel bytes).</summary>
internal static class Cifar10TestFiles
{
    public const int RecordBytes = 3073;

    public static readonly string[] TrainFiles = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

    /// <summary>Pixel byte <paramref name="i"/> (0–3071, channel-major) of the record numbered <paramref name="record"/>.</summary>
    public static byte Pixel(int record, int i) => (byte)((record * 13) + i);

    /// <summary>Label of the record numbered <paramref name="record"/>.</summary>
    public static byte Label(int record) => (byte)(record % 10);

    /// <summary><paramref name="count"/> records numbered from <paramref name="first"/>.</summary>
    public static byte[] Batch(int count, int first = 0)
    {
        var bytes = new byte[count * RecordBytes];
        for (int r = 0; r < count; r++)
        {
            int record = first + r;
            bytes[r * RecordBytes] = Label(record);
            for (int i = 0; i < 3072; i++)
            {
                bytes[(r * RecordBytes) + 1 + i] = Pixel(record, i);
            }
        }

        return bytes;
    }

    /// <summary>
    /// Writes the five training batches (records numbered 0 .. 5·perFile − 1 across them, in order) and a test batch
    /// of <paramref name="testCount"/> records numbered from 1000.
    /// </summary>
    public static void WriteDataset(string directory, int perFile = 7, int testCount = 7)
    {
        Directory.CreateDirectory(directory);
        for (int f = 0; f < TrainFiles.Length; f++)
        {
            File.WriteAllBytes(Path.Combine(directory, TrainFiles[f]), Batch(perFile, f * perFile));
        }

        File.WriteAllBytes(Path.Combine(directory, "test_batch.bin"), Batch(testCount, 1000));
    }
}
