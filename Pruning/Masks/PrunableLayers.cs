using SparseNet.Engine.Nn;

namespace SparseNet.Pruning.Masks;

/// <summary>
/// Finds the tensors pruning acts on: the weights of Linear and Conv2d layers wherever they sit (inside residual blocks,
/// shortcut projections, nested sequences), never biases or batch norm, as open_lth's <c>prunable_layer_names</c>.
/// </summary>
public static class PrunableLayers
{
    /// <summary>
    /// (name, parameter) of every Linear and Conv2d weight, in registration order, e.g. <c>fc1.weight</c>,
    /// leaving out layers named in <paramref name="exclude"/> (by layer name, e.g. <c>fc3</c>, or by full
    /// parameter name). Unknown names in <paramref name="exclude"/> are an error listing the prunable layers.
    /// </summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> Find(Module model, IEnumerable<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var all = Kinds(model).Select(l => (l.Name, l.Parameter)).ToList();
        var excluded = (exclude ?? []).ToHashSet(StringComparer.Ordinal);
        foreach (string name in excluded)
        {
            if (!all.Any(p => p.Name == name || p.Name == name + ".weight"))
            {
                throw new Engine.SettingsException($"prune: no prunable layer '{name}'; prunable layers are {string.Join(", ", all.Select(p => LayerName(p.Name)))}");
            }
        }

        return all.Where(p => !excluded.Contains(p.Name) && !excluded.Contains(LayerName(p.Name))).ToList();
    }

    /// <summary>
    /// (name, parameter, kind) of every Linear and Conv2d weight of <paramref name="model"/>, in registration order
    /// (nothing excluded), e.g. <c>blocks.3.shortcut.0.weight</c> as a <see cref="LayerKind.Conv2d"/>.
    /// </summary>
    public static IReadOnlyList<(string Name, Parameter Parameter, LayerKind Kind)> Kinds(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var all = new List<(string, Parameter, LayerKind)>();
        Walk(model, string.Empty, all);
        return all;
    }

    /// <summary><c>fc1.weight</c> → <c>fc1</c>.</summary>
    internal static string LayerName(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        return parameterName.EndsWith(".weight", StringComparison.Ordinal) ? parameterName[..^".weight".Length] : parameterName;
    }

    private static void Walk(Module module, string prefix, List<(string, Parameter, LayerKind)> found)
    {
        switch (module)
        {
            case Linear linear:
                found.Add((prefix + "weight", linear.Weight, LayerKind.Linear));
                return;
            case Conv2d conv:
                found.Add((prefix + "weight", conv.Weight, LayerKind.Conv2d));
                return;
        }

        foreach (var (name, child) in module.NamedChildren())
        {
            Walk(child, $"{prefix}{name}.", found);
        }
    }
}
