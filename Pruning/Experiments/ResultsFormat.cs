namespace SparseNet.Pruning.Experiments;

/// <summary>
/// Version of the numbers an experiment produces and of the files that hold them. It enters every run
/// directory's name, so a change here starts new directories and old results are never mixed with new ones.
/// Bump it whenever training arithmetic changes (a kernel's summation order, an optimizer's formula, an
/// initialiser, the data order) or the unit files change shape.
/// </summary>
public static class ResultsFormat
{
    /// <summary>
    /// The current version. 2: results record their files' lengths and SHA-256 hashes and a checksum of their
    /// own, diverged trainings are recorded, the data's content enters the run's identity. 3: a convolution's
    /// input gradient is computed as a transposed convolution (a different summation order from col2im), and its
    /// weight gradient sums small dW in image chunks and layers of few positions in blocks that cross images.
    /// 4: a level rewound to θₖ trains iterations k … T (schedule and data order continue from k) instead of
    /// restarting at iteration 0, and results record the iteration their training started at.
    /// 5: the weight gradient of a convolution with 16 output channels, or with a multiple of 16 and a small dW,
    /// is one fused multiply-add chain per image over its positions (the direct path), not blocks of the packed GEMM;
    /// results record the final training loss and accuracy.
    /// 6: 3×3 stride-1 convolutions with padding 1 (at least 8 channels in and out, widths a multiple of 8) run forward,
    /// input gradient and (with a multiple of 32 output channels) weight gradient as Winograd F(2×2, 3×3).
    /// 7: the Winograd weight gradient also takes 16 output channels (and any multiple of 16).
    /// 8: pruned layers run on the compressed form of their masks where that is faster (sparse products summed in
    /// their own order), and the optimizer updates only the kept weights of sparse layers.
    /// 9: a sparse linear layer's weight gradient over a batch of 128 or more is summed in two halves of the batch,
    /// the second half's sum added to the first's; a sparse convolution's bias gradient is summed by its weight
    /// gradient's kernel (each image's plane in vectors, the images in order) instead of by a separate reduction.
    /// 10: `--sparse auto` runs a layer sparse only where, timed alone, it takes under half its dense time (was 0.7),
    /// and the crossovers are measured again (kernel revision 4), so a default run takes the sparse path, whose sums
    /// differ from the dense path's in rounding, at other levels than before.
    /// </summary>
    public const int Version = 10;
}
