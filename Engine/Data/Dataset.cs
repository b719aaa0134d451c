using SparseNet.Engine.Random;

namespace SparseNet.Engine.Data;

/// <summary>
/// A labelled classification dataset held in memory: features as float32, row-major
/// [<see cref="Count"/>, <see cref="FeatureSize"/>], and one class index per example.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _blackLevel = [];

    /// <summary>Creates a dataset over the given arrays (they are used as is, not copied).</summary>
    /// <param name="features">Row-major [count, product of <paramref name="featureShape"/>].</param>
    /// <param name="labels">Class index of each example, in [0, <paramref name="numClasses"/>).</param>
    /// <param name="featureShape">Shape of one example, e.g. [1, 28, 28].</param>
    /// <param name="numClasses">Number of classes.</param>
    /// <exception cref="ArgumentException">Sizes disagree, or a label is out of range.</exception>
    public Dataset(float[] features, int[] labels, int[] featureShape, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(featureShape);
        if (numClasses <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "Dataset: number of classes must be positive.");
        }

        long featureSize = 1;
        foreach (int d in featureShape)
        {
            if (d <= 0)
            {
                throw new ArgumentException($"Dataset: feature shape [{string.Join(',', featureShape)}] must have positive dimensions.", nameof(featureShape));
            }

            featureSize *= d;
        }

        if (featureShape.Length == 0 || featureSize > int.MaxValue)
        {
            throw new ArgumentException($"Dataset: feature shape [{string.Join(',', featureShape)}] is empty or too large.", nameof(featureShape));
        }

        if ((long)labels.Length * featureSize != features.Length)
        {
            throw new ArgumentException($"Dataset: {labels.Length} labels x {featureSize} features = {(long)labels.Length * featureSize} values expected, features hold {features.Length}.", nameof(features));
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)numClasses)
            {
                throw new ArgumentException($"Dataset: label {labels[i]} of example {i} is outside [0, {numClasses}).", nameof(labels));
            }
        }

        Features = features;
        Labels = labels;
        FeatureShape = (int[])featureShape.Clone();
        FeatureSize = (int)featureSize;
        NumClasses = numClasses;
    }

    /// <summary>Features, row-major [<see cref="Count"/>, <see cref="FeatureSize"/>].</summary>
    public float[] Features { get; }

    /// <summary>Class index of each example.</summary>
    public int[] Labels { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Labels.Length;

    /// <summary>Shape of one example, e.g. [1, 28, 28] (channels, height, width).</summary>
    public int[] FeatureShape { get; }

    /// <summary>Number of floats per example (product of <see cref="FeatureShape"/>).</summary>
    public int FeatureSize { get; }

    /// <summary>Number of classes; labels lie in [0, NumClasses).</summary>
    public int NumClasses { get; }

    /// <summary>
    /// The value a black pixel (raw 0) has in each channel after the loader's scaling and normalisation: what
    /// <see cref="RandomCropFlip"/> pads with, so padding is black as in torchvision's <c>RandomCrop</c> before
    /// <c>Normalize</c>. Empty (the default) means 0 in every channel (features not normalised); otherwise one value
    /// per channel (<see cref="FeatureShape"/>[0]). Subsets keep it.
    /// </summary>
    /// <exception cref="ArgumentException">Set to a list that is neither empty nor one finite value per channel.</exception>
    public IReadOnlyList<float> BlackLevel
    {
        get => _blackLevel;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count != 0 && (value.Count != FeatureShape[0] || value.Any(v => !float.IsFinite(v))))
            {
                throw new ArgumentException($"Dataset: black level [{string.Join(", ", value)}] must hold one finite value per channel ({FeatureShape[0]} for features [{string.Join(',', FeatureShape)}]) or none.", nameof(value));
            }

            _blackLevel = value.ToArray();
        }
    }

    /// <summary>
    /// Whether training on this data uses <see cref="RandomCropFlip"/> unless told otherwise (true for CIFAR-10, false
    /// for the MNIST family, as in open_lth). Subsets keep it.
    /// </summary>
    public bool AugmentByDefault { get; init; }

    /// <summary>
    /// Share of the most common class: the accuracy of always guessing it, the level a classifier must beat to
    /// have learned anything (0 for an empty set).
    /// </summary>
    public double MajorityShare()
    {
        if (Count == 0)
        {
            return 0;
        }

        var counts = new int[NumClasses];
        foreach (int label in Labels)
        {
            counts[label]++;
        }

        return counts.Max() / (double)Count;
    }

    /// <summary>Features of example <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Example(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Features.AsSpan(index * FeatureSize, FeatureSize);
    }

    /// <summary>A new dataset holding copies of the examples at <paramref name="indices"/>, in that order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        var features = new float[(long)indices.Length * FeatureSize];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int src = indices[i];
            if ((uint)src >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), src, $"Dataset.Subset: index {src} is outside [0, {Count}).");
            }

            Features.AsSpan(src * FeatureSize, FeatureSize).CopyTo(features.AsSpan(i * FeatureSize));
            labels[i] = Labels[src];
        }

        return new Dataset(features, labels, FeatureShape, NumClasses) { BlackLevel = _blackLevel, AugmentByDefault = AugmentByDefault };
    }

    /// <summary>
    /// A fixed random subset of <paramref name="count"/> examples, for a reduced-budget run: the first
    /// <paramref name="count"/> of a Philox permutation on stream <see cref="RngStreams.TrainSubset"/>, kept in their
    /// original order. The same seed always gives the same subset, and a smaller count gives a subset of a larger one.
    /// </summary>
    /// <param name="count">Examples to keep, in [1, Count].</param>
    /// <param name="seed">Data seed (the seed of the validation split).</param>
    /// <returns>The subset (a copy).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not in [1, Count].</exception>
    public Dataset Sample(int count, ulong seed)
    {
        if (count <= 0 || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Dataset.Sample: cannot keep {count} of {Count} examples; need 1 <= count <= {Count}.");
        }

        int[] chosen = new Philox(seed, RngStreams.TrainSubset).Permutation(Count)[..count];
        Array.Sort(chosen);
        return Subset(chosen);
    }

    /// <summary>
    /// Holds <paramref name="holdOut"/> examples out of this (training) set, chosen by a Philox
    /// permutation on stream <see cref="RngStreams.Validation"/>. Both parts keep the original
    /// order of their examples. The same seed always gives the same split.
    /// </summary>
    /// <param name="holdOut">Number of examples to hold out, in [0, Count).</param>
    /// <param name="seed">Experiment seed.</param>
    /// <returns>The remaining examples and the held-out ones.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="holdOut"/> is negative or not less than <see cref="Count"/>.</exception>
    public (Dataset Remaining, Dataset HeldOut) Split(int holdOut, ulong seed)
    {
        if (holdOut < 0 || holdOut >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(holdOut), holdOut, $"Dataset.Split: cannot hold out {holdOut} of {Count} examples; need 0 <= holdOut < {Count}.");
        }

        int[] permutation = new Philox(seed, RngStreams.Validation).Permutation(Count);
        int[] heldOut = permutation[..holdOut];
        int[] rest = permutation[holdOut..];
        Array.Sort(heldOut);
        Array.Sort(rest);
        return (Subset(rest), Subset(heldOut));
    }
}
