using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Pruning.Masks;

/// <summary>
/// One 0/1 mask per prunable tensor, by parameter name (e.g. <c>fc1.weight</c>), in a fixed order.
/// Saved as safetensors next to the weights.
/// </summary>
public sealed class MaskSet
{
    private readonly List<(string Name, int[] Shape, float[] Mask)> _masks;

    /// <summary>Creates a set from (name, shape, mask) entries; values must be 0 or 1.</summary>
    public MaskSet(IEnumerable<(string Name, int[] Shape, float[] Mask)> masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        _masks = masks.ToList();
        foreach (var (name, shape, mask) in _masks)
        {
            if (Shape.Size(shape) != mask.Length)
            {
                throw new ArgumentException($"mask {name}: {mask.Length} values for shape {Shape.Format(shape)}");
            }

            for (int i = 0; i < mask.Length; i++)
            {
                if (mask[i] is not (0f or 1f))
                {
                    throw new ArgumentException($"mask {name}: value {mask[i]} at {i} is neither 0 nor 1");
                }
            }
        }
    }

    /// <summary>The entries in order.</summary>
    public IReadOnlyList<(string Name, int[] Shape, float[] Mask)> Entries => _masks;

    /// <summary>Names of the masked tensors.</summary>
    public IEnumerable<string> Names => _masks.Select(m => m.Name);

    /// <summary>An all-ones (dense) mask for each of the given prunable layers.</summary>
    public static MaskSet Dense(IReadOnlyList<(string Name, Parameter Parameter)> layers) =>
        new(layers.Select(l => (l.Name, (int[])l.Parameter.Shape.Clone(), Enumerable.Repeat(1f, l.Parameter.Size).ToArray())));

    /// <summary>The mask of one tensor.</summary>
    public float[] this[string name] => _masks.FirstOrDefault(m => m.Name == name).Mask
        ?? throw new KeyNotFoundException($"mask: no mask for '{name}'; masks exist for {string.Join(", ", Names)}");

    /// <summary>Kept weights per tensor.</summary>
    public IReadOnlyDictionary<string, int> KeptCounts() => _masks.ToDictionary(m => m.Name, m => Kept(m.Mask), StringComparer.Ordinal);

    /// <summary>Total weights covered by the masks.</summary>
    public long TotalCount => _masks.Sum(m => (long)m.Mask.Length);

    /// <summary>Total kept weights.</summary>
    public long KeptCount => _masks.Sum(m => (long)Kept(m.Mask));

    /// <summary>Fraction of masked weights kept, in [0, 1].</summary>
    public double Density => TotalCount == 0 ? 1 : KeptCount / (double)TotalCount;

    /// <summary>Kept fraction per tensor.</summary>
    public IReadOnlyDictionary<string, double> Densities() =>
        _masks.ToDictionary(m => m.Name, m => m.Mask.Length == 0 ? 1 : Kept(m.Mask) / (double)m.Mask.Length, StringComparer.Ordinal);

    /// <summary>
    /// Attaches the masks to the model's parameters and zeroes the pruned weights, so they stay zero through
    /// training (optimizers zero their gradients).
    /// </summary>
    public void Apply(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        foreach (var (name, shape, mask) in _masks)
        {
            if (!parameters.TryGetValue(name, out var p))
            {
                throw new ArgumentException($"mask: the model has no parameter '{name}'");
            }

            p.Mask = Tensor.FromArray(mask, shape, p.Value.Device);
            p.ApplyMask();
        }
    }

    /// <summary>Writes the masks to a safetensors file atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, Serialize());

    /// <summary>The bytes <see cref="Save"/> writes.</summary>
    public byte[] Serialize() =>
        SafeTensors.Serialize(_masks.ToDictionary(m => m.Name, m => new SafeTensor(m.Shape, m.Mask), StringComparer.Ordinal), new Dictionary<string, string> { ["format"] = "sparsenet-mask" });

    /// <summary>
    /// Reads the masks of <paramref name="layers"/> written by <see cref="Save"/>, in their order, checking each mask's
    /// shape against its parameter. A missing tensor, a wrong shape or a value other than 0 and 1 is an
    /// <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static MaskSet Load(string path, IReadOnlyList<(string Name, Parameter Parameter)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var (tensors, _) = SafeTensors.Read(path);
        var entries = new List<(string, int[], float[])>();
        foreach (var (name, parameter) in layers)
        {
            if (!tensors.TryGetValue(name, out var t))
            {
                throw new InvalidDataException($"'{path}': no mask for '{name}'; the file holds {(tensors.Count == 0 ? "no tensors" : string.Join(", ", tensors.Keys.Order(StringComparer.Ordinal)))}");
            }

            if (!parameter.Shape.AsSpan().SequenceEqual(t.Shape))
            {
                throw new InvalidDataException($"'{path}': mask '{name}' has shape {Shape.Format(t.Shape)} but the parameter is {Shape.Format(parameter.Shape)}");
            }

            entries.Add((name, t.Shape, t.Data));
        }

        try
        {
            return new MaskSet(entries);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>Number of kept (non-zero) entries of one mask.</summary>
    internal static int Kept(ReadOnlySpan<float> mask)
    {
        int kept = 0;
        foreach (float v in mask)
        {
            if (v != 0f)
            {
                kept++;
            }
        }

        return kept;
    }
}
