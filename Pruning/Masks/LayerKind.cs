namespace SparseNet.Pruning.Masks;

/// <summary>What kind of layer a prunable weight belongs to (layerwise pruning can give each kind its own rate).</summary>
public enum LayerKind
{
    /// <summary>A fully connected layer (<see cref="Engine.Nn.Linear"/>), weight [out, in].</summary>
    Linear,

    /// <summary>A convolution (<see cref="Engine.Nn.Conv2d"/>), weight [out, in, k, k].</summary>
    Conv2d,
}
