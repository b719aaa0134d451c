using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Engine.Devices.Ilgpu;

/// <summary>Matrix products, convolution, pooling and batch normalisation as kernels.</summary>
internal sealed partial class IlgpuBackend
{
    public void MatMul(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result)
    {
        int m = result.Shape[^2], n = result.Shape[^1];
        int k = transposeA ? a.Shape[^2] : a.Shape[^1];
        int batches = m * n == 0 ? 0 : result.Size / (m * n);
        long sa = (long)a.Shape[^1] * a.Shape[^2], sb = (long)b.Shape[^1] * b.Shape[^2];
        Kernels.Sgemm(transposeA, transposeB, m, n, k, V(a), a.Shape[^1], sa, V(b), b.Shape[^1], sb, V(result), n, (long)m * n, batches, accumulate: false);
    }

    public bool MatMulInto(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result, bool accumulate)
    {
        if (a.Rank != 2 || b.Rank != 2 || result.Rank != 2)
        {
            return false;
        }

        int m = result.Shape[0], n = result.Shape[1];
        int k = transposeA ? a.Shape[0] : a.Shape[1];
        Kernels.Sgemm(transposeA, transposeB, m, n, k, V(a), a.Shape[1], a.Size, V(b), b.Shape[1], b.Size, V(result), n, result.Size, 1, accumulate);
        return true;
    }

    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) =>
        Kernels.ConvForward(V(x), V(w), VOrEmpty(bias), g.ToKernelShape(), V(result), relu);

    public void Conv2dInputGrad(Tensor dy, Tensor w, Conv2dGeometry g, Tensor result) =>
        Kernels.ConvInputGrad(V(dy), V(w), g.ToKernelShape(), V(result));

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Conv2dGeometry g, Tensor result) =>
        Kernels.ConvWeightGrad(V(x), V(dy), g.ToKernelShape(), V(result));

    private static PoolShape Pool(Pool2dGeometry g) => new(g.Planes, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW);

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor result, IndexBuffer argmax) =>
        Kernels.MaxPool2d(V(x), Pool(g), V(result), I(argmax));

    public void MaxPool2dBackward(Tensor dy, IndexBuffer argmax, Pool2dGeometry g, Tensor result) =>
        Kernels.MaxPool2dBackward(V(dy), I(argmax), Pool(g), V(result));

    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor result) => Kernels.AvgPool2d(V(x), Pool(g), V(result));

    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor result) => Kernels.AvgPool2dBackward(V(dy), Pool(g), V(result));

    public void BatchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps, Tensor result, Tensor saveMean, Tensor saveInvStd, Tensor? addend, bool relu) =>
        Kernels.BatchNorm2d(
            V(x), V(weight), V(bias), VOrEmpty(runningMean), VOrEmpty(runningVar), x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3],
            training, momentum, eps, V(result), V(saveMean), V(saveInvStd), VOrEmpty(addend), relu);

    public void BatchNorm2dBackward(Tensor x, Tensor dy, Tensor weight, Tensor bias, Tensor saveMean, Tensor saveInvStd, bool training, bool relu, Tensor? dx, Tensor dWeight, Tensor dBias) =>
        Kernels.BatchNorm2dBackward(
            V(x), V(dy), V(weight), V(bias), V(saveMean), V(saveInvStd), x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3],
            training, relu, VOrEmpty(dx), V(dWeight), V(dBias));
}
