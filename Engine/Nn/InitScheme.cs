namespace SparseNet.Engine.Nn;

/// <summary>How weights of Linear and Conv2d layers are drawn.</summary>
public enum InitScheme
{
    /// <summary>Glorot/Xavier normal: N(0, 2/(fan_in + fan_out)).</summary>
    GlorotNormal,

    /// <summary>Kaiming/He normal for ReLU: N(0, 2/fan_in).</summary>
    KaimingNormal,
}
