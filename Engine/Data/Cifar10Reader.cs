namespace SparseNet.Engine.Data;

/// <summary>
/// Reads the binary version of CIFAR-10 (<c>cifar-10-binary.tar.gz</c>): files of 3,073-byte records, each one label
/// byte (0–9) and then a 32×32 colour image as 1,024 red, 1,024 green and 1,024 blue bytes, rows top to bottom.
/// </summary>
internal static class Cifar10Reader
{
    /// <summary>Bytes of one image: 3 channels of 32×32.</summary>
    public const int ImageBytes = Channels * Side * Side;

    /// <summary>Bytes of one record: the label and the image.</summary>
    public const int RecordBytes = 1 + ImageBytes;

    private const int Channels = 3;
    private const int Side = 32;
    private const int Classes = 10;

    /// <summary>
    /// Per-channel mean of the normalisation. open_lth (facebookresearch/open_lth, <c>datasets/cifar10.py</c>) normalises
    /// CIFAR-10 with the ImageNet statistics, not CIFAR-10's own; we follow it so results compare with its runs.
    /// </summary>
    public static IReadOnlyList<float> Mean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation of the normalisation (open_lth's, as <see cref="Mean"/>).</summary>
    public static IReadOnlyList<float> Std { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// Reads the records of <paramref name="paths"/>, in order, into one dataset of [3, 32, 32] features: each byte
    /// scaled to [0, 1], then normalised per channel as (v − <see cref="Mean"/>) / <see cref="Std"/>, as torchvision's
    /// <c>ToTensor</c> then <c>Normalize</c> do. The dataset's <see cref="Dataset.BlackLevel"/> is −mean/std and it
    /// augments by default.
    /// </summary>
    /// <param name="paths">Batch files.</param>
    /// <param name="role">What the split is for, for the error message of an empty one (e.g. <c>a training set</c>).</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is empty, not a whole number of records, holds a label above 9, is not a regular file, or the split is too large for one array.</exception>
    public static Dataset ReadSplit(IReadOnlyList<string> paths, string role)
    {
        var files = new List<byte[]>(paths.Count);
        long records = 0;
        foreach (string path in paths)
        {
            byte[] bytes = ReadBatch(path);
            files.Add(bytes);
            records += bytes.Length / RecordBytes;
        }

        if (records * ImageBytes > Array.MaxLength)
        {
            throw new InvalidDataException($"CIFAR-10 {role}: {records} records of {ImageBytes} values are more than an array can hold ({string.Join(", ", paths.Select(p => $"'{p}'"))}).");
        }

        float[] table = NormalisationTable();
        var features = new float[records * ImageBytes];
        var labels = new int[records];
        int record = 0;
        foreach (byte[] bytes in files)
        {
            for (int offset = 0; offset < bytes.Length; offset += RecordBytes, record++)
            {
                labels[record] = bytes[offset];
                Span<float> image = features.AsSpan(record * ImageBytes, ImageBytes);
                ReadOnlySpan<byte> pixels = bytes.AsSpan(offset + 1, ImageBytes);
                for (int c = 0; c < Channels; c++)
                {
                    ReadOnlySpan<float> lookup = table.AsSpan(c * 256, 256);
                    int start = c * Side * Side;
                    for (int i = start; i < start + (Side * Side); i++)
                    {
                        image[i] = lookup[pixels[i]];
                    }
                }
            }
        }

        return new Dataset(features, labels, [Channels, Side, Side], Classes)
        {
            BlackLevel = [table[0], table[256], table[512]],
            AugmentByDefault = true,
        };
    }

    /// <summary>The bytes of one batch file, checked: non-empty, whole records, labels 0–9.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty, not a whole number of records, holds a label above 9, or is not a regular file.</exception>
    public static byte[] ReadBatch(string path)
    {
        byte[] bytes;
        using (FileStream stream = DataFile.OpenRegular(path, bufferSize: 1 << 20))
        {
            long length = stream.Length;
            if (length == 0)
            {
                throw new InvalidDataException($"CIFAR-10 batch '{path}' is empty; expected records of {RecordBytes} bytes (1 label + {ImageBytes} pixels).");
            }

            if (length % RecordBytes != 0)
            {
                throw new InvalidDataException($"CIFAR-10 batch '{path}' holds {length} bytes, not a whole number of {RecordBytes}-byte records (1 label + {ImageBytes} pixels): {length / RecordBytes} records and {length % RecordBytes} bytes over. Truncated, or not the binary version of CIFAR-10?");
            }

            if (length > Array.MaxLength)
            {
                throw new InvalidDataException($"CIFAR-10 batch '{path}' holds {length} bytes, more than an array can hold.");
            }

            bytes = new byte[length];
            stream.ReadExactly(bytes);
        }

        for (int offset = 0, record = 0; offset < bytes.Length; offset += RecordBytes, record++)
        {
            if (bytes[offset] >= Classes)
            {
                throw new InvalidDataException($"CIFAR-10 batch '{path}': label {bytes[offset]} of record {record} (byte offset {offset}) is not a class in 0-{Classes - 1}.");
            }
        }

        return bytes;
    }

    // Byte b of channel c maps to entry c·256 + b, computed in the same single-precision steps as torchvision's
    // ToTensor (divide by 255) and Normalize (subtract the mean, divide by the std).
    private static float[] NormalisationTable()
    {
        var table = new float[Channels * 256];
        for (int c = 0; c < Channels; c++)
        {
            for (int b = 0; b < 256; b++)
            {
                table[(c * 256) + b] = ((b / 255f) - Mean[c]) / Std[c];
            }
        }

        return table;
    }
}
