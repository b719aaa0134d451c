namespace SparseNet.Engine.Data;

/// <summary>Opens data files for reading, refusing anything that can be read only once.</summary>
internal static class DataFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading and checks that it is a regular file. A pipe or a
    /// character device cannot seek, and whatever a writer feeds it is gone once read, so the second
    /// read (a dataset is fingerprinted, then loaded) would see different data or block forever.
    /// </summary>
    /// <exception cref="InvalidDataException">The file cannot seek: a pipe, FIFO or device.</exception>
    public static FileStream OpenRegular(string path, int bufferSize = 1 << 16)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize, FileOptions.SequentialScan);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            throw new InvalidDataException($"'{path}' is not a regular file (a pipe or device?); SparseNet reads data files twice, to fingerprint and to load them");
        }

        return stream;
    }
}
