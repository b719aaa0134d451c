namespace SparseNet.Engine.Data;

/// <summary>
/// Resolves a dataset name or directory to its train and test splits of MNIST-style IDX files.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Name of the built-in dataset (8,000 train / 2,000 test MNIST digits shipped with SparseNet).</summary>
    public const string Mnist10k = "mnist-10k";

    /// <summary>Name of Fashion-MNIST as installed by Debian's <c>dataset-fashion-mnist</c> package.</summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs its files.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The four IDX files a dataset directory holds, each either raw or with a <c>.gz</c> suffix.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
    [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ];

    private const int MnistClasses = 10;

    /// <summary>
    /// Loads the train and test splits named by <paramref name="spec"/>: <c>mnist-10k</c> (the
    /// default, built in), <c>fashion-mnist</c> (Debian package), or a directory holding the four
    /// IDX files of <see cref="FileNames"/>. Pixels are scaled to [0, 1]; features are [1, rows, cols].
    /// </summary>
    /// <param name="spec">Dataset name or directory; null or empty means <c>mnist-10k</c>.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="SettingsException">The spec is neither a known name nor an existing directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The named dataset is not installed or cannot be found.</exception>
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or not a regular file (a pipe or device), counts of images and labels differ, a label is out of range, or a split holds no examples.</exception>
    public static (Dataset Train, Dataset Test) Load(string? spec = null) => LoadDirectory(ResolveDirectory(spec));

    /// <summary>
    /// Full paths of the four IDX files that <see cref="Load"/> reads for <paramref name="spec"/>, in
    /// the order of <see cref="FileNames"/>, each the raw or the <c>.gz</c> file found (raw first).
    /// </summary>
    /// <param name="spec">Dataset name or directory, as for <see cref="Load"/>.</param>
    /// <returns>Four full paths.</returns>
    /// <exception cref="SettingsException">The spec is neither a known name nor an existing directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The named dataset is not installed or cannot be found.</exception>
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files.</exception>
    public static IReadOnlyList<string> Files(string? spec)
    {
        string directory = ResolveDirectory(spec);
        return FileNames.Select(name => Path.GetFullPath(Resolve(directory, name))).ToArray();
    }

    /// <summary>
    /// A fingerprint of the content of the dataset named by <paramref name="spec"/>, so that a run's
    /// identity covers the data and not just its name: <c>"sha256:"</c> and the lowercase hex SHA-256
    /// of one line <c>"{role} {length} {hash}\n"</c> for each of the four <see cref="Files"/>, where
    /// role is its name in <see cref="FileNames"/>, length its size in bytes and hash the lowercase
    /// hex SHA-256 of its bytes. Where the files lie does not enter it: the same bytes in two
    /// directories give the same fingerprint, and one changed byte gives another. It hashes the
    /// bytes as stored, so a gzipped copy and a raw copy of the same data differ (as do two gzip
    /// encodings of it).
    /// </summary>
    /// <remarks>
    /// Each file's hash is cached under its full path, length and last-write time, in memory and in
    /// <c>data-fingerprints.json</c> in <c>$SPARSENET_CACHE_DIR</c> if that is set, else in
    /// <c>$XDG_CACHE_HOME/sparsenet</c>, else in <c>~/.cache/sparsenet</c>. A cache that cannot be
    /// read or written is ignored. A file rewritten with the same length and then given back its old
    /// last-write time is not noticed.
    /// </remarks>
    /// <param name="spec">Dataset name or directory, as for <see cref="Load"/>.</param>
    /// <returns>The fingerprint, e.g. <c>sha256:3f1a…</c> (71 characters).</returns>
    /// <exception cref="SettingsException">The spec is neither a known name nor an existing directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The named dataset is not installed or cannot be found.</exception>
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files.</exception>
    /// <exception cref="InvalidDataException">A file is not a regular file (a pipe or device), which could not be read a second time to load it.</exception>
    public static string Fingerprint(string? spec) => Fingerprint(spec, DataFingerprint.DefaultCacheDirectory());

    internal static string Fingerprint(string? spec, string? cacheDirectory)
    {
        IReadOnlyList<string> files = Files(spec);
        return DataFingerprint.Combine(FileNames.Select((role, i) => (role, files[i])), cacheDirectory);
    }

    /// <summary>Loads a directory holding the four IDX files of <see cref="FileNames"/>, each raw or gzipped.</summary>
    /// <param name="directory">Dataset directory.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">The directory lacks one of the four IDX files.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or not a regular file (a pipe or device), counts of images and labels differ, a label is out of range, or a split holds no examples.</exception>
    public static (Dataset Train, Dataset Test) LoadDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Dataset directory not found: '{directory}'.");
        }

        Dataset train = LoadSplit(Resolve(directory, FileNames[0]), Resolve(directory, FileNames[1]), "a training set");
        Dataset test = LoadSplit(Resolve(directory, FileNames[2]), Resolve(directory, FileNames[3]), "a test set");
        if (!train.FeatureShape.AsSpan().SequenceEqual(test.FeatureShape))
        {
            throw new InvalidDataException($"Dataset '{directory}': train images are [{string.Join(',', train.FeatureShape)}] but test images are [{string.Join(',', test.FeatureShape)}].");
        }

        return (train, test);
    }

    /// <summary>
    /// The folder holding the built-in <c>mnist-10k</c> files. The data is embedded in this assembly (so it
    /// travels with the package and works from any directory); the first call in a process writes it out to a
    /// folder named after its content under the user cache (see <see cref="Fingerprint(string?)"/>), or the
    /// temporary directory, and checks a copy already there byte for byte.
    /// </summary>
    /// <returns>Full path of the folder.</returns>
    /// <exception cref="IOException">Neither place can be written.</exception>
    public static string FindMnist10k() => BuiltInData.Mnist10kDirectory();

    internal static (Dataset Train, Dataset Test) LoadFashionMnist(string directory) => LoadDirectory(RequireFashionMnist(directory));

    private static string RequireFashionMnist(string directory) =>
        Directory.Exists(directory)
            ? directory
            : throw new DirectoryNotFoundException($"Fashion-MNIST not found at '{directory}'. Install it with: apt-get install dataset-fashion-mnist");

    // One resolution for Load, Files and Fingerprint, so a fingerprint always describes what is loaded.
    private static string ResolveDirectory(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec) || spec.Equals(Mnist10k, StringComparison.OrdinalIgnoreCase))
        {
            return FindMnist10k();
        }

        if (spec.Equals(FashionMnist, StringComparison.OrdinalIgnoreCase))
        {
            return RequireFashionMnist(FashionMnistDirectory);
        }

        if (Directory.Exists(spec))
        {
            return spec;
        }

        throw new SettingsException(
            $"Unknown dataset '{spec}': expected '{Mnist10k}' (built in), '{FashionMnist}' (apt-get install dataset-fashion-mnist), or a directory holding {string.Join(", ", FileNames)} (raw or .gz).");
    }

    private static string? TryResolve(string directory, string name)
    {
        foreach (string file in new[] { name, name + ".gz" })
        {
            string path = Path.Combine(directory, file);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static string Resolve(string directory, string name) =>
        TryResolve(directory, name)
        ?? throw new FileNotFoundException($"Dataset '{directory}': missing '{name}' (or '{name}.gz').", Path.Combine(directory, name));

    private static Dataset LoadSplit(string imagesPath, string labelsPath, string role)
    {
        IdxImages images = IdxReader.ReadImages(imagesPath);
        byte[] labelBytes = IdxReader.ReadLabels(labelsPath);
        if (images.Count != labelBytes.Length)
        {
            throw new InvalidDataException($"'{imagesPath}' holds {images.Count} images but '{labelsPath}' holds {labelBytes.Length} labels.");
        }

        // An empty split is valid IDX, but training on nothing or scoring 0 of 0 test examples would
        // report a meaningless result (0.00% accuracy) as a successful run.
        if (images.Count == 0)
        {
            throw new InvalidDataException($"'{imagesPath}' holds no examples; {role} needs at least one.");
        }

        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labelBytes[i] >= MnistClasses)
            {
                throw new InvalidDataException($"'{labelsPath}': label {labelBytes[i]} of example {i} is not a class in 0-{MnistClasses - 1}.");
            }

            labels[i] = labelBytes[i];
        }

        var features = new float[images.Pixels.Length];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = images.Pixels[i] / 255f;
        }

        return new Dataset(features, labels, [1, images.Rows, images.Cols], MnistClasses);
    }
}
