using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Engine.Devices;

/// <summary>Matrix products, convolution and pooling on the CPU.</summary>
internal sealed partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result)
    {
        int m = result.Shape[^2], n = result.Shape[^1];
        int k = transposeA ? a.Shape[^2] : a.Shape[^1];
        int lda = a.Shape[^1], ldb = b.Shape[^1];
        int batches = m * n == 0 ? 0 : result.Size / (m * n);
        float[] x = D(a), y = D(b), r = D(result);
        int sa = a.Shape[^1] * a.Shape[^2], sb = b.Shape[^1] * b.Shape[^2], sr = m * n;
        for (int i = 0; i < batches; i++)
        {
            Gemm(transposeA, transposeB, m, n, k, x.AsSpan(i * sa, sa), lda, y.AsSpan(i * sb, sb), ldb, r.AsSpan(i * sr, sr), n, accumulate: false);
        }
    }

    public bool MatMulInto(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result, bool accumulate)
    {
        if (a.Rank != 2 || b.Rank != 2 || result.Rank != 2)
        {
            return false;
        }

        int k = transposeA ? a.Shape[0] : a.Shape[1];
        Gemm(transposeA, transposeB, result.Shape[0], result.Shape[1], k, D(a), a.Shape[1], D(b), b.Shape[1], D(result), result.Shape[1], accumulate);
        return true;
    }

    private static void Gemm(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        Sgemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) =>
        Convolution.Forward(D(x), D(w), bias is null ? [] : D(bias), g.ToKernelShape(), D(result), relu);

    public void Conv2dInputGrad(Tensor dy, Tensor w, Conv2dGeometry g, Tensor result) =>
        Convolution.InputGrad(D(dy), D(w), g.ToKernelShape(), D(result));

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Conv2dGeometry g, Tensor result) =>
        Convolution.WeightGrad(D(x), D(dy), g.ToKernelShape(), D(result));

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor result, IndexBuffer indices)
    {
        int[] argmax = I(indices);
        Pool2d.MaxForward(D(x), g.Planes, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, D(result), argmax);

        // The kernel indexes within a plane; autograd gathers and scatters over the whole tensor.
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        for (int pl = 1; pl < g.Planes; pl++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(argmax.AsSpan(pl * ohw, ohw), pl * hw, argmax.AsSpan(pl * ohw, ohw));
        }
    }

    public void MaxPool2dBackward(Tensor dy, IndexBuffer argmax, Pool2dGeometry g, Tensor result) =>
        Pool2d.MaxBackward(D(dy), I(argmax), g.Planes, g.H * g.W, g.OH * g.OW, D(result));

    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor result) =>
        Pool2d.AvgForward(D(x), g.Planes, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, D(result));

    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor result)
    {
        Array.Clear(D(result));
        Pool2d.AvgBackward(D(dy), g.Planes, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, D(result));
    }
}
