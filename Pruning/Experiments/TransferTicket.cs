using SparseNet.Engine.IO;
using SparseNet.Pruning.Masks;

namespace SparseNet.Pruning.Experiments;

/// <summary>A ticket of a <see cref="TransferSource"/>: its mask and the weights it starts from, each with the SHA-256 of its file.</summary>
/// <param name="Mask">The ticket's mask.</param>
/// <param name="Start">The source replicate's θ₀ (or θₖ), unmasked.</param>
/// <param name="MaskSha256">SHA-256 of the source's <c>mask.safetensors</c>.</param>
/// <param name="StartSha256">SHA-256 of the file <paramref name="Start"/> was read from.</param>
public sealed record TransferTicket(MaskSet Mask, IReadOnlyDictionary<string, SafeTensor> Start, string MaskSha256, string StartSha256);
