using SparseNet.Engine.Nn;

namespace SparseNet.Pruning.Masks;

/// <summary>Finds the tensors pruning acts on: the weights of Linear and Conv2d layers (never biases or batch norm).</summary>
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
        var all = new List<(string Name, Parameter Parameter)>();
        Walk(model, string.Empty, all);
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

    /// <summary><c>fc1.weight</c> → <c>fc1</c>.</summary>
    internal static string LayerName(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        return parameterName.EndsWith(".weight", StringComparison.Ordinal) ? parameterName[..^".weight".Length] : parameterName;
    }

    private static void Walk(Module module, string prefix, List<(string, Parameter)> found)
    {
        switch (module)
        {
            case Linear linear:
                found.Add((prefix + "weight", linear.Weight));
                return;
            case Conv2d conv:
                found.Add((prefix + "weight", conv.Weight));
                return;
        }

        foreach (var (name, child) in module.NamedChildren())
        {
            Walk(child, $"{prefix}{name}.", found);
        }
    }
}
