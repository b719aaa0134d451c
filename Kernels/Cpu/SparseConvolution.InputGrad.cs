namespace SparseNet.Kernels.Cpu;

/// <summary>The input gradient: a direct sparse convolution of the output gradient with the flipped, transposed kernel.</summary>
public static unsafe partial class SparseConvolution
{
    /// <summary>
    /// dx [N,C,H,W] = the gradient of <see cref="Forward"/> with respect to x, given dy [N,O,OH,OW]:
    /// dx[n,c,i,j] = Σ over kept (o, c, ky, kx) of W[o,c,ky,kx]·dy[n,o,i+PH−ky,j+PW−kx] (terms outside dy dropped),
    /// summed per input channel over its taps (ky, kx) in order, each tap's output channels in increasing order.
    /// </summary>
    /// <param name="weightTransposed">
    /// The transpose of W's CSR form, [C·KH·KW, O] (<see cref="SparseRows.Transpose"/>), with current values
    /// (<see cref="SparseRows.LoadValuesFrom"/> after each refresh of W's values).
    /// </param>
    /// <param name="dy">The output gradient [N,O,OH,OW].</param>
    /// <param name="s">The shape of the forward convolution; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="dx">The input gradient [N,C,H,W], overwritten; must not overlap <paramref name="dy"/>.</param>
    /// <exception cref="ArgumentException">The shape is not supported, the weight does not match it, a span is too short, or the spans overlap.</exception>
    public static void InputGrad(SparseRows weightTransposed, ReadOnlySpan<float> dy, ConvShape s, Span<float> dx) => InputGrad(weightTransposed, dy, [], s, dx);

    /// <summary>
    /// <see cref="InputGrad(SparseRows, ReadOnlySpan{float}, ConvShape, Span{float})"/> through a ReLU: dy is taken as 0
    /// wherever <paramref name="reluOutput"/> (the forward's output after its ReLU) is not positive, as the ReLU's own
    /// gradient would make it, without writing that masked gradient out. The result has the bits of the unmasked call
    /// on the masked dy.
    /// </summary>
    /// <param name="weightTransposed">The transpose of W's CSR form with current values, as for the unmasked call.</param>
    /// <param name="dy">The output gradient [N,O,OH,OW], before the ReLU's mask.</param>
    /// <param name="reluOutput">Empty (no mask), or the forward's output [N,O,OH,OW].</param>
    /// <param name="s">The shape of the forward convolution; stride 1 (<see cref="Supports"/>).</param>
    /// <param name="dx">The input gradient [N,C,H,W], overwritten; must not overlap <paramref name="dy"/> or <paramref name="reluOutput"/>.</param>
    /// <exception cref="ArgumentException">The shape is not supported, the weight does not match it, a span is too short, or the spans overlap.</exception>
    public static void InputGrad(SparseRows weightTransposed, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput, ConvShape s, Span<float> dx)
    {
        ArgumentNullException.ThrowIfNull(weightTransposed);
        CheckShape("sparse conv input grad", s, dx.Length, dy.Length, "dy");
        CheckWeight("sparse conv input grad", "transposed weight", weightTransposed, s.Taps, s.O, s);
        CheckMask("sparse conv input grad", s, reluOutput.Length);
        dx = dx[..(s.N * s.C * s.H * s.W)];
        if (dx.Overlaps(dy[..(s.N * s.O * s.Positions)]) || (!reluOutput.IsEmpty && dx.Overlaps(reluOutput[..(s.N * s.O * s.Positions)])))
        {
            throw new ArgumentException($"sparse conv input grad {s}: dx overlaps dy or the ReLU's output");
        }

        if (s.N == 0)
        {
            return;
        }

        // The transposed convolution at stride 1 is a forward one over dy bordered by KH−1−PH rows and KW−1−PW
        // columns (cropped where the padding is larger), its kernel flipped: input channel c's taps are rows
        // c·KH·KW … c·KH·KW + KH·KW − 1 of the transpose, contiguous in its entry order.
        var geometry = new Geometry(s.O, s.OH, s.OW, s.KH - 1 - s.PH, s.KW - 1 - s.PW, s.C, s.H, s.W, s.KH, s.KW, SelectWidth(s.W));
        int kk = s.KH * s.KW, row = geometry.PaddedRow, plane = geometry.PaddedPlane;
        int[] offsets = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(weightTransposed.Count, 1));
        try
        {
            var starts = weightTransposed.RowStarts;
            var columns = weightTransposed.ColumnIndices;
            for (int r = 0; r < weightTransposed.Rows; r++)
            {
                int t = r % kk, ky = t / s.KW, kx = t - (ky * s.KW);
                int shift = ((s.KH - 1 - ky) * row) + (s.KW - 1 - kx);
                for (int e = starts[r]; e < starts[r + 1]; e++)
                {
                    offsets[e] = (columns[e] * plane) + shift;
                }
            }

            fixed (int* ps = starts, po = offsets)
            fixed (float* pv = weightTransposed.Values, pdy = dy, pm = reluOutput, pdx = dx)
            {
                RunDirect(geometry, s.N, ps, kk, po, pv, pdy, pm, null, false, pdx, (long)weightTransposed.Count * s.H * s.W);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(offsets);
        }
    }
}
