using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Gpu;
using SparseNet.Kernels;

namespace SparseNet.Engine.Devices.Ilgpu;

/// <summary>Elementwise, reduction and shaping ops as kernels.</summary>
internal sealed partial class IlgpuBackend
{
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result) =>
        Kernels.Binary(op, V(a), a.Shape, V(b), b.Shape, V(result), result.Shape);

    public void Unary(UnaryOp op, Tensor a, Tensor result) => Kernels.Unary(op, V(a), V(result));

    public void Affine(Tensor a, float scale, float shift, Tensor result) => Kernels.Affine(V(a), scale, shift, V(result));

    public void Pow(Tensor a, float exponent, Tensor result) => Kernels.Pow(V(a), exponent, V(result));

    public void SumTo(Tensor a, Tensor result) => Kernels.SumTo(V(a), a.Shape, V(result), result.Shape);

    public void MaxAlong(Tensor a, int axis, Tensor result)
    {
        var (outer, inner) = Shape.AroundAxis(a.Shape, axis);
        Kernels.MaxAlong(V(a), outer, a.Shape[axis], inner, V(result));
    }

    public void BroadcastTo(Tensor a, Tensor result) => Kernels.BroadcastTo(V(a), a.Shape, V(result), result.Shape);

    public void Transpose(Tensor a, Tensor result)
    {
        int rows = a.Shape[^2], cols = a.Shape[^1];
        int batch = rows * cols == 0 ? 0 : a.Size / (rows * cols);
        Kernels.Transpose(V(a), batch, rows, cols, V(result));
    }

    public void LogSoftmax(Tensor a, Tensor result) => Softmax(a, result, log: true);

    public void Softmax(Tensor a, Tensor result) => Softmax(a, result, log: false);

    private void Softmax(Tensor a, Tensor result, bool log)
    {
        int cols = a.Shape[^1];
        Kernels.Softmax(V(a), cols == 0 ? 0 : a.Size / cols, cols, V(result), log);
    }

    public void SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor result) =>
        Kernels.SoftmaxCrossEntropy(V(logits), labels.Length, logits.Shape[^1], UploadLabels(labels), V(result));

    public void OneHot(ReadOnlySpan<int> labels, Tensor result) => Kernels.OneHot(UploadLabels(labels), result.Shape[^1], V(result));

    public void Narrow(Tensor a, int axis, int start, Tensor result)
    {
        var (outer, inner) = Shape.AroundAxis(a.Shape, axis);
        Kernels.Narrow(V(a), outer, a.Shape[axis], inner, start, result.Shape[axis], V(result));
    }

    public void Pad(Tensor a, int axis, int start, Tensor result)
    {
        var (outer, inner) = Shape.AroundAxis(a.Shape, axis);
        Kernels.Pad(V(a), outer, a.Shape[axis], inner, start, result.Shape[axis], V(result));
    }

    public void Gather(Tensor a, IndexBuffer index, Tensor result) => Kernels.Gather(V(a), I(index), V(result));

    public void ScatterAdd(Tensor a, IndexBuffer index, Tensor result) => Kernels.ScatterAdd(V(a), I(index), V(result));

    public float KthSmallest(Tensor a, int k) => Kernels.KthSmallest(V(a), k);

    public int CountCorrect(Tensor logits, ReadOnlySpan<int> labels) =>
        Kernels.CountCorrect(V(logits), labels.Length, logits.Shape[^1], UploadLabels(labels));

    // Once per epoch: a host copy is cheap next to the epoch and needs no reduction whose NaN handling could differ.
    public bool AllFinite(Tensor a)
    {
        foreach (float v in a.ToArray())
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    public void AdamStep(Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2) =>
        Kernels.AdamStep(V(theta), V(grad), V(m), V(v), beta1, beta2, eps, weightDecay, stepSize, invRootC2);

    public void SgdStep(Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep) =>
        Kernels.SgdStep(V(theta), V(grad), VOrEmpty(velocity), learningRate, momentum, nesterov, weightDecay, firstStep);

}
