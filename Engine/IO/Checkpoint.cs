using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.IO;

/// <summary>Saves and loads a module's state dict as safetensors (readable from PyTorch).</summary>
public static class Checkpoint
{
    /// <summary>Writes every parameter and buffer of <paramref name="model"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Module model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = model.StateDict().ToDictionary(kv => kv.Key, kv => new SafeTensor((int[])kv.Value.Shape.Clone(), kv.Value.ToArray()), StringComparer.Ordinal);
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Reads a checkpoint into <paramref name="model"/>; returns missing and unexpected keys as LoadStateDict does.</summary>
    public static (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) Load(string path, Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (tensors, _) = SafeTensors.Read(path);
        var state = tensors.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal);
        return model.LoadStateDict(state, strict);
    }
}
