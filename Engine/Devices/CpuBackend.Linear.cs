using SparseNet.Engine.Tensors;

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

    private static void Gemm(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (!accumulate)
            {
                row.Clear();
            }

            for (int p = 0; p < k; p++)
            {
                float av = ta ? a[(p * lda) + i] : a[(i * lda) + p];
                if (tb)
                {
                    for (int j = 0; j < n; j++)
                    {
                        row[j] += av * b[(j * ldb) + p];
                    }
                }
                else
                {
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), av, row, row);
                }
            }
        }
    }

    public void Conv2d(Tensor x, Tensor w, Conv2dGeometry g, Tensor result)
    {
        float[] xd = D(x), wd = D(w), yd = D(result);
        int ckk = g.C * g.KH * g.KW, ohw = g.OH * g.OW, chw = g.C * g.H * g.W;
        var cols = new float[ckk * ohw];
        for (int i = 0; i < g.N; i++)
        {
            Im2Col(xd.AsSpan(i * chw, chw), g, cols);
            // y_i [O, OH·OW] = W [O, C·KH·KW] · cols [C·KH·KW, OH·OW]
            Gemm(false, false, g.O, ohw, ckk, wd, ckk, cols, ohw, yd.AsSpan(i * g.O * ohw, g.O * ohw), ohw, accumulate: false);
        }
    }

    public void Conv2dInputGrad(Tensor dy, Tensor w, Conv2dGeometry g, Tensor result)
    {
        float[] dyd = D(dy), wd = D(w), dx = D(result);
        int ckk = g.C * g.KH * g.KW, ohw = g.OH * g.OW, chw = g.C * g.H * g.W;
        var cols = new float[ckk * ohw];
        Array.Clear(dx);
        for (int i = 0; i < g.N; i++)
        {
            // cols = Wᵀ · dy_i, then fold back onto the image.
            Gemm(true, false, ckk, ohw, g.O, wd, ckk, dyd.AsSpan(i * g.O * ohw, g.O * ohw), ohw, cols, ohw, accumulate: false);
            Col2Im(cols, g, dx.AsSpan(i * chw, chw));
        }
    }

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Conv2dGeometry g, Tensor result)
    {
        float[] xd = D(x), dyd = D(dy), dw = D(result);
        int ckk = g.C * g.KH * g.KW, ohw = g.OH * g.OW, chw = g.C * g.H * g.W;
        var cols = new float[ckk * ohw];
        Array.Clear(dw);
        for (int i = 0; i < g.N; i++)
        {
            Im2Col(xd.AsSpan(i * chw, chw), g, cols);
            // dW += dy_i [O, OH·OW] · colsᵀ
            Gemm(false, true, g.O, ckk, ohw, dyd.AsSpan(i * g.O * ohw, g.O * ohw), ohw, cols, ohw, dw, ckk, accumulate: true);
        }
    }

    private static void Im2Col(ReadOnlySpan<float> image, Conv2dGeometry g, Span<float> cols)
    {
        int ohw = g.OH * g.OW;
        for (int c = 0; c < g.C; c++)
        {
            for (int ki = 0; ki < g.KH; ki++)
            {
                for (int kj = 0; kj < g.KW; kj++)
                {
                    var dst = cols.Slice((((c * g.KH) + ki) * g.KW + kj) * ohw, ohw);
                    for (int oy = 0; oy < g.OH; oy++)
                    {
                        int iy = (oy * g.StrideH) - g.PadH + ki;
                        for (int ox = 0; ox < g.OW; ox++)
                        {
                            int ix = (ox * g.StrideW) - g.PadW + kj;
                            dst[(oy * g.OW) + ox] = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W ? image[(((c * g.H) + iy) * g.W) + ix] : 0f;
                        }
                    }
                }
            }
        }
    }

    private static void Col2Im(ReadOnlySpan<float> cols, Conv2dGeometry g, Span<float> image)
    {
        int ohw = g.OH * g.OW;
        for (int c = 0; c < g.C; c++)
        {
            for (int ki = 0; ki < g.KH; ki++)
            {
                for (int kj = 0; kj < g.KW; kj++)
                {
                    var src = cols.Slice((((c * g.KH) + ki) * g.KW + kj) * ohw, ohw);
                    for (int oy = 0; oy < g.OH; oy++)
                    {
                        int iy = (oy * g.StrideH) - g.PadH + ki;
                        if (iy < 0 || iy >= g.H)
                        {
                            continue;
                        }

                        for (int ox = 0; ox < g.OW; ox++)
                        {
                            int ix = (ox * g.StrideW) - g.PadW + kj;
                            if (ix >= 0 && ix < g.W)
                            {
                                image[(((c * g.H) + iy) * g.W) + ix] += src[(oy * g.OW) + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor result, int[] argmax)
    {
        float[] xd = D(x), yd = D(result);
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        for (int p = 0; p < g.Planes; p++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    float best = float.NegativeInfinity;
                    int bestIndex = -1;
                    for (int ki = 0; ki < g.KH; ki++)
                    {
                        int iy = (oy * g.StrideH) - g.PadH + ki;
                        for (int kj = 0; kj < g.KW; kj++)
                        {
                            int ix = (ox * g.StrideW) - g.PadW + kj;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                            {
                                continue;
                            }

                            int idx = (p * hw) + (iy * g.W) + ix;
                            if (bestIndex < 0 || xd[idx] > best)
                            {
                                best = xd[idx];
                                bestIndex = idx;
                            }
                        }
                    }

                    int o = (p * ohw) + (oy * g.OW) + ox;
                    yd[o] = best;
                    argmax[o] = bestIndex;
                }
            }
        }
    }

    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor result) => AvgPool(D(x), D(result), g, forward: true);

    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor result)
    {
        Array.Clear(D(result));
        AvgPool(D(result), D(dy), g, forward: false);
    }

    // One loop serves the pooling and its adjoint: forward reads the image, backward scatters into it.
    private static void AvgPool(float[] image, float[] pooled, Pool2dGeometry g, bool forward)
    {
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        float scale = 1f / (g.KH * g.KW);
        for (int p = 0; p < g.Planes; p++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int o = (p * ohw) + (oy * g.OW) + ox;
                    float s = 0f, share = pooled[o] * scale;
                    for (int ki = 0; ki < g.KH; ki++)
                    {
                        int iy = (oy * g.StrideH) - g.PadH + ki;
                        for (int kj = 0; kj < g.KW; kj++)
                        {
                            int ix = (ox * g.StrideW) - g.PadW + kj;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                            {
                                continue;
                            }

                            int idx = (p * hw) + (iy * g.W) + ix;
                            if (forward)
                            {
                                s += image[idx];
                            }
                            else
                            {
                                image[idx] += share;
                            }
                        }
                    }

                    if (forward)
                    {
                        pooled[o] = s * scale;
                    }
                }
            }
        }
    }
}
