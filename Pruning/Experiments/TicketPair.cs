using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>Two tickets and their overlap per layer, then overall (last).</summary>
/// <param name="A">The first ticket's name.</param>
/// <param name="B">The second ticket's name.</param>
/// <param name="Layers">Per layer, then <see cref="MaskOverlap.Overall"/>.</param>
public sealed record TicketPair(string A, string B, IReadOnlyList<LayerOverlap> Layers);
