namespace SparseNet.Pruning;

/// <summary>Entry point of the pruning layer; masks, scores and the IMP runner build on the engine.</summary>
public static class PruningInfo
{
    /// <summary>Layer name used in diagnostics.</summary>
    public const string LayerName = "SparseNet.Pruning";
}
