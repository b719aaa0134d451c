namespace SparseNet.Engine.Data;

/// <summary>
/// Resolves a dataset name or directory to its train and test splits: MNIST-style IDX files, or the binary
/// batches of CIFAR-10.
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

    /// <summary>Name of CIFAR-10 (binary version), which users bring themselves: see <see cref="Cifar10Directories()"/>.</summary>
    public const string Cifar10 = "cifar10";

    /// <summary>Environment variable naming the folder of CIFAR-10 (or the folder holding its <see cref="Cifar10Folder"/>).</summary>
    public const string Cifar10Variable = "SPARSENET_CIFAR10";

    /// <summary>Name of the folder that <c>cifar-10-binary.tar.gz</c> unpacks into.</summary>
    public const string Cifar10Folder = "cifar-10-batches-bin";

    /// <summary>Where to get CIFAR-10's binary version.</summary>
    public const string Cifar10Url = "https://www.cs.toronto.edu/~kriz/cifar.html";

    /// <summary>The six batch files of CIFAR-10's binary version: five of training data, then the test batch.</summary>
    public static IReadOnlyList<string> Cifar10FileNames { get; } =
    [
        "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
    ];

    /// <summary>
    /// Per-channel (red, green, blue) mean that CIFAR-10 pixels, scaled to [0, 1], are normalised with: open_lth's
    /// (<c>datasets/cifar10.py</c>), which are the ImageNet statistics.
    /// </summary>
    public static IReadOnlyList<float> Cifar10Mean => Cifar10Reader.Mean;

    /// <summary>Per-channel standard deviation that CIFAR-10 pixels are normalised with (open_lth's, as <see cref="Cifar10Mean"/>).</summary>
    public static IReadOnlyList<float> Cifar10Std => Cifar10Reader.Std;

    private const int MnistClasses = 10;

    /// <summary>
    /// Loads the train and test splits named by <paramref name="spec"/>: <c>mnist-10k</c> (the
    /// default, built in), <c>fashion-mnist</c> (Debian package), <c>cifar10</c> (see
    /// <see cref="Cifar10Directories()"/>), or a directory holding the four IDX files of <see cref="FileNames"/>
    /// or the six CIFAR-10 batches of <see cref="Cifar10FileNames"/> (directly or in a <c>cifar-10-batches-bin</c>
    /// subfolder). IDX pixels are scaled to [0, 1], features [1, rows, cols]. CIFAR-10 pixels are scaled to [0, 1]
    /// and normalised per channel with <see cref="Cifar10Mean"/> and <see cref="Cifar10Std"/>, features [3, 32, 32];
    /// its training set augments by default (<see cref="Dataset.AugmentByDefault"/>).
    /// </summary>
    /// <param name="spec">Dataset name or directory; null or empty means <c>mnist-10k</c>.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="SettingsException">The spec is neither a known name nor an existing directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The named dataset is not installed or cannot be found.</exception>
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files or six CIFAR-10 batches, or holds neither.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt, truncated or not a regular file (a pipe or device), counts of images and labels differ, a label is out of range, or a split holds no examples.</exception>
    public static (Dataset Train, Dataset Test) Load(string? spec = null) => LoadDirectory(ResolveDirectory(spec));

    /// <summary>
    /// Full paths of the files that <see cref="Load"/> reads for <paramref name="spec"/>: the four IDX files in
    /// the order of <see cref="FileNames"/>, each the raw or the <c>.gz</c> file found (raw first), or the six
    /// CIFAR-10 batches in the order of <see cref="Cifar10FileNames"/>.
    /// </summary>
    /// <param name="spec">Dataset name or directory, as for <see cref="Load"/>.</param>
    /// <returns>Four or six full paths.</returns>
    /// <exception cref="SettingsException">The spec is neither a known name nor an existing directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The named dataset is not installed or cannot be found.</exception>
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files or six CIFAR-10 batches, or holds neither.</exception>
    public static IReadOnlyList<string> Files(string? spec) => RoleFiles(ResolveDirectory(spec)).Select(f => f.Path).ToArray();

    // Each file Load reads, with its role in the fingerprint (its name in FileNames or Cifar10FileNames).
    private static (string Role, string Path)[] RoleFiles(string directory)
    {
        (string layoutDirectory, bool cifar) = Layout(directory);
        return cifar
            ? Cifar10FileNames.Select(name => (name, Path.GetFullPath(ResolveCifar10File(layoutDirectory, name)))).ToArray()
            : FileNames.Select(name => (name, Path.GetFullPath(Resolve(layoutDirectory, name)))).ToArray();
    }

    /// <summary>
    /// A fingerprint of the content of the dataset named by <paramref name="spec"/>, so that a run's
    /// identity covers the data and not just its name: <c>"sha256:"</c> and the lowercase hex SHA-256
    /// of one line <c>"{role} {length} {hash}\n"</c> for each of the <see cref="Files"/>, where
    /// role is its name in <see cref="FileNames"/> (or <see cref="Cifar10FileNames"/>), length its size in bytes and hash the lowercase
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
    /// <exception cref="FileNotFoundException">A directory lacks one of the four IDX files or six CIFAR-10 batches, or holds neither.</exception>
    /// <exception cref="InvalidDataException">A file is not a regular file (a pipe or device), which could not be read a second time to load it.</exception>
    public static string Fingerprint(string? spec) => Fingerprint(spec, DataFingerprint.DefaultCacheDirectory());

    internal static string Fingerprint(string? spec, string? cacheDirectory) =>
        DataFingerprint.Combine(RoleFiles(ResolveDirectory(spec)), cacheDirectory);

    /// <summary>
    /// Loads a directory holding the four IDX files of <see cref="FileNames"/> (each raw or gzipped), or the six
    /// CIFAR-10 batches of <see cref="Cifar10FileNames"/> directly or in a <c>cifar-10-batches-bin</c> subfolder.
    /// </summary>
    /// <param name="directory">Dataset directory.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">The directory lacks one of the four IDX files or six CIFAR-10 batches, or holds neither.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt, truncated or not a regular file (a pipe or device), counts of images and labels differ, a label is out of range, or a split holds no examples.</exception>
    public static (Dataset Train, Dataset Test) LoadDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Dataset directory not found: '{directory}'.");
        }

        (string layoutDirectory, bool cifar) = Layout(directory);
        if (cifar)
        {
            string[] paths = Cifar10FileNames.Select(name => ResolveCifar10File(layoutDirectory, name)).ToArray();
            return (Cifar10Reader.ReadSplit(paths[..5], "training set"), Cifar10Reader.ReadSplit(paths[5..], "test set"));
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

    /// <summary>
    /// Where the name <c>cifar10</c> looks for CIFAR-10, in order: <c>$SPARSENET_CIFAR10</c> alone when it is set;
    /// otherwise <c>cifar-10-batches-bin</c> in the user cache (<c>$SPARSENET_CACHE_DIR</c>, else
    /// <c>$XDG_CACHE_HOME/sparsenet</c>, else <c>~/.cache/sparsenet</c>), then
    /// <c>/usr/share/datasets/cifar-10-batches-bin</c> (beside Debian's Fashion-MNIST). Each may be the folder of the
    /// six batches or a folder holding <c>cifar-10-batches-bin</c>.
    /// </summary>
    /// <returns>The candidate folders, in the order they are tried.</returns>
    public static IReadOnlyList<string> Cifar10Directories() =>
        Cifar10Directories(Environment.GetEnvironmentVariable(Cifar10Variable), DataFingerprint.DefaultCacheDirectory());

    internal static IReadOnlyList<string> Cifar10Directories(string? variable, string? cacheDirectory)
    {
        if (!string.IsNullOrWhiteSpace(variable))
        {
            return [variable];
        }

        var candidates = new List<string>();
        if (cacheDirectory is not null)
        {
            candidates.Add(Path.Combine(cacheDirectory, Cifar10Folder));
        }

        candidates.Add(Path.Combine("/usr/share/datasets", Cifar10Folder));
        return candidates;
    }

    /// <summary>The first of <paramref name="candidates"/> that exists, or an error naming them all and how to get CIFAR-10.</summary>
    internal static string FindCifar10(IReadOnlyList<string> candidates, bool fromVariable)
    {
        foreach (string candidate in candidates)
        {
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        string looked = string.Join(", ", candidates.Select(c => $"'{c}'"));
        string where = fromVariable ? $"at {looked} (${Cifar10Variable})" : $"in {looked}";
        throw new DirectoryNotFoundException(
            $"CIFAR-10 not found {where}. Download cifar-10-binary.tar.gz from {Cifar10Url} and unpack it there (it makes {Cifar10Folder}), set {Cifar10Variable} to its folder, or pass --data DIR.");
    }

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

        if (spec.Equals(Cifar10, StringComparison.OrdinalIgnoreCase))
        {
            string? variable = Environment.GetEnvironmentVariable(Cifar10Variable);
            return FindCifar10(Cifar10Directories(variable, DataFingerprint.DefaultCacheDirectory()), fromVariable: !string.IsNullOrWhiteSpace(variable));
        }

        if (Directory.Exists(spec))
        {
            return spec;
        }

        throw new SettingsException(
            $"Unknown dataset '{spec}': expected '{Mnist10k}' (built in), '{FashionMnist}' (apt-get install dataset-fashion-mnist), '{Cifar10}' (binary version, from {Cifar10Url}), or a directory holding {string.Join(", ", FileNames)} (raw or .gz) or CIFAR-10's {string.Join(", ", Cifar10FileNames)}.");
    }

    // Which format a directory holds, and the folder its files are in. IDX files win; then CIFAR-10 batches in the
    // directory itself, then in a cifar-10-batches-bin subfolder (the directory the archive was unpacked in).
    private static (string Directory, bool Cifar) Layout(string directory)
    {
        if (FileNames.Any(name => TryResolve(directory, name) is not null))
        {
            return (directory, false);
        }

        if (Cifar10FileNames.Any(name => File.Exists(Path.Combine(directory, name))))
        {
            return (directory, true);
        }

        string nested = Path.Combine(directory, Cifar10Folder);
        if (Directory.Exists(nested))
        {
            return (nested, true);
        }

        throw new FileNotFoundException(
            $"Dataset '{directory}' holds neither the IDX files {string.Join(", ", FileNames)} (raw or .gz) nor CIFAR-10's binary batches {string.Join(", ", Cifar10FileNames)} (nor a {Cifar10Folder} folder).",
            directory);
    }

    private static string ResolveCifar10File(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"CIFAR-10 '{directory}': missing '{name}' (expected {string.Join(", ", Cifar10FileNames)}).", path);
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
