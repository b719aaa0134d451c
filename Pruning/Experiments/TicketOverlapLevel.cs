namespace SparseNet.Pruning.Experiments;

/// <summary>The tickets compared at one level.</summary>
/// <param name="Level">Pruning level.</param>
/// <param name="WeightsRemaining">Fraction of prunable weights the tickets keep (mean).</param>
/// <param name="Pairs">Each pair of tickets compared.</param>
/// <param name="TestAccuracies">Each ticket's test accuracy, by name (e.g. <c>replicate 0</c>).</param>
public sealed record TicketOverlapLevel(int Level, double WeightsRemaining, IReadOnlyList<TicketPair> Pairs, IReadOnlyList<(string Ticket, double TestAccuracy)> TestAccuracies);
