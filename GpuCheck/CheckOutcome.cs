namespace SparseNet.GpuCheck;

/// <summary>The result of one <see cref="BackendCheck"/>: whether it held, the worst error relative to its tolerance, and where.</summary>
/// <param name="Name">The check.</param>
/// <param name="Passed">Every compared value was within tolerance.</param>
/// <param name="WorstRatio">The largest |Δ| / (atol + rtol·|ref|) seen (≤ 1 passes).</param>
/// <param name="Detail">Where the worst value was and what the two devices gave.</param>
/// <param name="Seconds">Wall time on the device under test.</param>
public sealed record CheckOutcome(string Name, bool Passed, double WorstRatio, string Detail, double Seconds);
