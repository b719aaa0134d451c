using SparseNet.Engine.Tensors;
using SparseNet.Kernels;

namespace SparseNet.Engine.Devices;

/// <summary>
/// The compute primitives a device provides. Every tensor op is built from these; outputs are
/// allocated by the caller (contiguous, row-major) and fully written unless stated otherwise.
/// </summary>
/// <remarks>
/// Storages from <see cref="Allocate"/> and <see cref="FromHost"/> must report the <see cref="Device"/> created
/// with this backend as their <see cref="Storage.Device"/>: ops find their backend through the storage of their
/// operands.
/// </remarks>
public interface IBackend
{
    /// <summary>Allocates a buffer; contents are zero when <paramref name="zeroed"/>, else unspecified.</summary>
    Storage Allocate(int length, bool zeroed);

    /// <summary>Copies host data into a new storage.</summary>
    Storage FromHost(ReadOnlySpan<float> data);

    /// <summary>Copies host data into an existing storage of the same length.</summary>
    void CopyFromHost(ReadOnlySpan<float> source, Storage destination);

    /// <summary>Allocates an index buffer; contents unspecified.</summary>
    IndexBuffer AllocateIndices(int length);

    /// <summary>Copies a storage to host memory.</summary>
    void ToHost(Storage source, Span<float> destination);

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    void Fill(Storage storage, float value);

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (same length).</summary>
    void Copy(Storage source, Storage destination);

    /// <summary>out = a ∘ b with NumPy broadcasting to <paramref name="result"/>'s shape.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result);

    /// <summary>out = f(a), same shape.</summary>
    void Unary(UnaryOp op, Tensor a, Tensor result);

    /// <summary>out = a·scale + shift.</summary>
    void Affine(Tensor a, float scale, float shift, Tensor result);

    /// <summary>out = aᵖ.</summary>
    void Pow(Tensor a, float exponent, Tensor result);

    /// <summary>Sums <paramref name="a"/> down to <paramref name="result"/>'s shape (dimensions of size 1 or missing are summed over).</summary>
    void SumTo(Tensor a, Tensor result);

    /// <summary>Maximum over one axis; <paramref name="result"/> has that axis of size 1.</summary>
    void MaxAlong(Tensor a, int axis, Tensor result);

    /// <summary>Broadcasts <paramref name="a"/> to <paramref name="result"/>'s shape.</summary>
    void BroadcastTo(Tensor a, Tensor result);

    /// <summary>Batched op(A)·op(B) over the leading dimensions (A and B have equal rank ≥ 2 and equal batch dimensions).</summary>
    void MatMul(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result);

    /// <summary>
    /// result = op(A)·op(B), or result += op(A)·op(B) when <paramref name="accumulate"/>, for rank-2 operands;
    /// returns false (and does nothing) when this backend cannot write in place for these operands, so the
    /// caller falls back to <see cref="MatMul"/>.
    /// </summary>
    bool MatMulInto(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result, bool accumulate);

    /// <summary>Swaps the last two dimensions.</summary>
    void Transpose(Tensor a, Tensor result);

    /// <summary>log-softmax over the last axis.</summary>
    void LogSoftmax(Tensor a, Tensor result);

    /// <summary>softmax over the last axis.</summary>
    void Softmax(Tensor a, Tensor result);

    /// <summary>Mean over rows of −log softmax(logits)[label] computed stably; writes a scalar.</summary>
    void SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor result);

    /// <summary>One-hot rows [labels.Length, classes].</summary>
    void OneHot(ReadOnlySpan<int> labels, Tensor result);

    /// <summary>Copies a slice [start, start+length) along an axis.</summary>
    void Narrow(Tensor a, int axis, int start, Tensor result);

    /// <summary>Writes <paramref name="a"/> at [start, …) along an axis of a zero-filled <paramref name="result"/>.</summary>
    void Pad(Tensor a, int axis, int start, Tensor result);

    /// <summary>
    /// 2-D convolution (cross-correlation) of x[N,C,H,W] with w[O,C,kh,kw] into [N,O,oh,ow], plus bias[O] if given;
    /// with <paramref name="relu"/>, max(·, 0) of that, as a ReLU after the convolution would give.
    /// </summary>
    void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu);

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to x, given dY and w.</summary>
    void Conv2dInputGrad(Tensor dy, Tensor w, Conv2dGeometry g, Tensor result);

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to w, given x and dY.</summary>
    void Conv2dWeightGrad(Tensor x, Tensor dy, Conv2dGeometry g, Tensor result);

    /// <summary>Max pooling over planes; writes the flat input index of each maximum (over the whole input, plane offset included).</summary>
    void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor result, IndexBuffer argmax);

    /// <summary>
    /// Gradient of <see cref="MaxPool2d"/>: result (shaped like its input) is zero except that each dy element is added
    /// at the flat index <paramref name="argmax"/> gave it.
    /// </summary>
    void MaxPool2dBackward(Tensor dy, IndexBuffer argmax, Pool2dGeometry g, Tensor result);

    /// <summary>result[i] = a[index[i]] over flat indices.</summary>
    void Gather(Tensor a, IndexBuffer index, Tensor result);

    /// <summary>result (zeroed first) [index[i]] += a[i] over flat indices, each element's additions in increasing i.</summary>
    void ScatterAdd(Tensor a, IndexBuffer index, Tensor result);

    /// <summary>Average pooling (padding counts as zeros, divisor kh·kw).</summary>
    void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor result);

    /// <summary>Adjoint of <see cref="AvgPool2d"/>.</summary>
    void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor result);

    /// <summary>
    /// Batch normalisation of x [N,C,H,W] per channel: result = (x − mean)·weight/√(var + eps) + bias. In training the
    /// mean and biased variance are the batch's, and the running statistics, when given, are updated in place
    /// (r ← (1 − momentum)·r + momentum·batch, unbiased variance for the running variance); in evaluation the running
    /// statistics are used and left as they are. <paramref name="saveMean"/> and <paramref name="saveInvStd"/> [C]
    /// receive the mean and 1/√(var + eps) used. <paramref name="addend"/>, when given (shaped as x), is added to the
    /// normalised value, and with <paramref name="relu"/> result is max(·, 0) of that: the values of the separate ops.
    /// </summary>
    void BatchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps, Tensor result, Tensor saveMean, Tensor saveInvStd, Tensor? addend, bool relu);

    /// <summary>
    /// Gradients of <see cref="BatchNorm2d"/> given dy and the saved mean and 1/√(var + eps), in one fused pass pair:
    /// <paramref name="dx"/> (skipped when null; in training it includes the path through the batch statistics),
    /// <paramref name="dWeight"/> and <paramref name="dBias"/> [C]. With <paramref name="relu"/> the forward pass
    /// applied ReLU and dy is its output's gradient: dy counts as 0 wherever the normalised value (recomputed from x,
    /// <paramref name="weight"/> and <paramref name="bias"/> exactly as the forward pass computed it) was not positive.
    /// </summary>
    void BatchNorm2dBackward(Tensor x, Tensor dy, Tensor weight, Tensor bias, Tensor saveMean, Tensor saveInvStd, bool training, bool relu, Tensor? dx, Tensor dWeight, Tensor dBias);

    /// <summary>
    /// The <paramref name="k"/>-th smallest (0-based) of a's elements, a left as it is: the threshold of magnitude
    /// pruning and of a top-k mask. A zero result is +0; a NaN element is an error naming its index.
    /// </summary>
    float KthSmallest(Tensor a, int k);

    /// <summary>
    /// One Adam update of <paramref name="theta"/> in place with first and second moments <paramref name="m"/> and
    /// <paramref name="v"/> (all shaped as theta), element by element with fused multiply-adds:
    /// g = fma(wd, θ, grad); m = fma(β₁, m, (1−β₁)·g); v = fma(β₂, v, (1−β₂)·g²);
    /// θ = fma(−stepSize, m / fma(√v, invRootC2, ε), θ), where stepSize = lr/(1−β₁ᵗ) and invRootC2 = 1/√(1−β₂ᵗ).
    /// </summary>
    void AdamStep(Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2);

    /// <summary>
    /// One SGD update of <paramref name="theta"/> in place, <paramref name="grad"/> left as it is: g = grad + λθ; with
    /// a <paramref name="velocity"/>, v = g on the <paramref name="firstStep"/> and μv + g after it, and the step
    /// direction is g + μv (Nesterov) or v; θ −= lr·direction.
    /// </summary>
    void SgdStep(Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep);

    /// <summary>How many rows of <paramref name="logits"/> [N, classes] have their first maximum at the row's label.</summary>
    int CountCorrect(Tensor logits, ReadOnlySpan<int> labels);

    /// <summary>Whether every element of <paramref name="a"/> is a finite number.</summary>
    bool AllFinite(Tensor a);

    /// <summary>
    /// Whether this backend has the sparse primitives below (<see cref="CompressRows"/> and the sparse layer and
    /// optimizer steps). Layers and optimizers take their dense path on a backend without them.
    /// </summary>
    bool SupportsSparse => false;

    /// <summary>
    /// The compressed form of <paramref name="mask"/> (1 keeps a position, 0 prunes it) read as a [rows, columns]
    /// matrix over its flat layout, values not yet loaded.
    /// </summary>
    SparseMatrix CompressRows(Tensor mask, int rows, int columns) => throw SparseUnsupported();

    /// <summary>Loads the kept values of <paramref name="matrix"/> from the dense tensor <paramref name="dense"/> (shaped as its mask).</summary>
    void LoadSparseValues(SparseMatrix matrix, Tensor dense) => throw SparseUnsupported();

    /// <summary>The length of the workspace a sparse linear pass keeps for an operand of <paramref name="features"/> columns and <paramref name="batch"/> rows.</summary>
    int SparseWorkspaceLength(int features, int batch) => throw SparseUnsupported();

    /// <summary>
    /// y = x·Wᵀ for x [batch, in] and the sparse weight W [out, in] with loaded values; <paramref name="workspace"/>
    /// (<see cref="SparseWorkspaceLength"/>(in, batch) elements) receives the form of x that
    /// <see cref="SparseLinearBackward"/> reads.
    /// </summary>
    void SparseLinearForward(SparseMatrix weight, Tensor x, Tensor workspace, Tensor y) => throw SparseUnsupported();

    /// <summary>
    /// The gradients of <see cref="SparseLinearForward"/> given dy [batch, out]: dx = dy·W [batch, in] unless
    /// <paramref name="dx"/> is null, and dW = dyᵀ·x at the kept positions only, written into the dense
    /// <paramref name="weightGrad"/> [out, in] as <paramref name="write"/> says (skipped when null); the backend keeps
    /// those kept values too (see <see cref="SparseAdamStep"/>).
    /// </summary>
    void SparseLinearBackward(SparseMatrix weight, Tensor workspace, Tensor dy, Tensor? dx, Tensor? weightGrad, SparseGradWrite write) =>
        throw SparseUnsupported();

    /// <summary>
    /// <see cref="AdamStep"/> at the kept positions of <paramref name="kept"/> only, with the moments
    /// <paramref name="m"/> and <paramref name="v"/> stored compressed ([kept.Count], in entry order); theta and grad
    /// are dense, and theta's other elements are left as they are. When <paramref name="grad"/> is the buffer a sparse
    /// primitive of this matrix last wrote, unchanged since, its kept values are read from the matrix. Each kept
    /// element gets exactly the value the dense step gives it, and the matrix's values become the new kept weights (no
    /// <see cref="LoadSparseValues"/> is needed before the next pass).
    /// </summary>
    void SparseAdamStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2) =>
        throw SparseUnsupported();

    /// <summary>values[e] = dense at the position of entry e of <paramref name="kept"/> ([kept.Count] values in entry order).</summary>
    void GatherKept(SparseMatrix kept, Tensor dense, Tensor values) => throw SparseUnsupported();

    /// <summary>dense = values at the kept positions and zeros elsewhere: the inverse of <see cref="GatherKept"/>.</summary>
    void ScatterKept(SparseMatrix kept, Tensor values, Tensor dense) => throw SparseUnsupported();

    /// <summary>
    /// <see cref="SgdStep"/> at the kept positions of <paramref name="kept"/> only, each with the dense step's value; the
    /// matrix's values become the new kept weights.
    /// </summary>
    void SparseSgdStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep) =>
        throw SparseUnsupported();

    /// <summary>Whether this backend has sparse kernels for a convolution of geometry <paramref name="g"/>.</summary>
    bool SupportsSparseConv(Conv2dGeometry g) => false;

    /// <summary>
    /// <see cref="Conv2d"/> with the sparse weight <paramref name="weight"/> ([O, C·KH·KW] with loaded values) in
    /// place of the dense one.
    /// </summary>
    void SparseConv2d(SparseMatrix weight, Tensor x, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) => throw SparseUnsupported();

    /// <summary>
    /// <see cref="Conv2dInputGrad"/> with the sparse weight; with <paramref name="reluOutput"/> (the forward's output
    /// after a fused ReLU), dy is taken as 0 where that output is not positive, as the ReLU's gradient makes it.
    /// </summary>
    void SparseConv2dInputGrad(SparseMatrix weight, Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result) => throw SparseUnsupported();

    /// <summary>
    /// <see cref="Conv2dWeightGrad"/> at the kept positions of <paramref name="weight"/> only, written into the dense
    /// <paramref name="result"/> as <paramref name="write"/> says; the backend keeps the kept values too. dy is masked
    /// by <paramref name="reluOutput"/> as in <see cref="SparseConv2dInputGrad"/>; with <paramref name="biasGrad"/>
    /// ([O]) the bias gradient (the masked dy summed per output channel) is written there from the same pass.
    /// </summary>
    void SparseConv2dWeightGrad(SparseMatrix weight, Tensor x, Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result, SparseGradWrite write, Tensor? biasGrad) =>
        throw SparseUnsupported();

    /// <summary>
    /// The bias gradient of a sparse convolution whose weight takes no gradient, with the bits
    /// <see cref="SparseConv2dWeightGrad"/> gives it: dy (masked by <paramref name="reluOutput"/> when given) summed per
    /// output channel into <paramref name="result"/> ([O]).
    /// </summary>
    void SparseConv2dBiasGrad(Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result) => throw SparseUnsupported();

    private static NotSupportedException SparseUnsupported() => new("this backend has no sparse primitives (SupportsSparse is false)");
}
