namespace SparseNet.Tests.Kernels;

/// <summary>Naive, obviously correct versions of the CPU kernels, computed in double.</summary>
public static class Reference
{
    /// <summary>Triple-loop C = op(A)·op(B) (+ C when accumulating), same contract as Sgemm.Multiply.</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, float[] a, int lda, float[] b, int ldb, float[] c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[(i * ldc) + j] : 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    double y = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += x * y;
                }

                c[(i * ldc) + j] = (float)sum;
            }
        }
    }

    /// <summary>Sum of |op(A)|·|op(B)| per element, the scale of the rounding error of C.</summary>
    public static double[] GemmMagnitude(bool transA, bool transB, int m, int n, int k, float[] a, int lda, float[] b, int ldb, float[] c, int ldc, bool accumulate)
    {
        var mag = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? Math.Abs(c[(i * ldc) + j]) : 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    double y = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += Math.Abs(x * y);
                }

                mag[(i * n) + j] = sum;
            }
        }

        return mag;
    }

    /// <summary>Naive im2col: cols[(ch·kh+ky)·kw+kx, oy·outW+ox] = image[ch, oy·sh−ph+ky, ox·sw−pw+kx], 0 in the padding.</summary>
    public static void Im2Col(float[] image, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, float[] cols) =>
        Windows(c, h, w, kh, kw, sh, sw, ph, pw, (pixel, entry) => cols[entry] = pixel < 0 ? 0 : image[pixel]);

    /// <summary>
    /// Naive col2im, the adjoint of <see cref="Im2Col"/>: adds each cols entry into imageGrad at the pixel it came
    /// from, in the order channel, tap, output position (padding entries dropped).
    /// </summary>
    public static void Col2Im(float[] cols, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, float[] imageGrad) =>
        Windows(c, h, w, kh, kw, sh, sw, ph, pw, (pixel, entry) =>
        {
            if (pixel >= 0)
            {
                imageGrad[pixel] += cols[entry];
            }
        });

    // Visits every (input pixel or −1 in the padding, cols entry) pair in the order channel, tap, output position.
    private static void Windows(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, Action<int, int> visit)
    {
        int outH = ((h + (2 * ph) - kh) / sh) + 1, outW = ((w + (2 * pw) - kw) / sw) + 1;
        for (int ch = 0; ch < c; ch++)
        {
            for (int ky = 0; ky < kh; ky++)
            {
                for (int kx = 0; kx < kw; kx++)
                {
                    int row = (((ch * kh) + ky) * kw) + kx;
                    for (int oy = 0; oy < outH; oy++)
                    {
                        for (int ox = 0; ox < outW; ox++)
                        {
                            int y = (oy * sh) - ph + ky, x = (ox * sw) - pw + kx;
                            bool inside = y >= 0 && y < h && x >= 0 && x < w;
                            visit(inside ? (((ch * h) + y) * w) + x : -1, (row * outH * outW) + (oy * outW) + ox);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Direct convolution of one image [C,H,W] with weights [F,C,kh,kw] → [F,outH,outW].</summary>
    public static double[] Conv2d(float[] image, int c, int h, int w, float[] weight, int f, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int outH = ((h + (2 * ph) - kh) / sh) + 1, outW = ((w + (2 * pw) - kw) / sw) + 1;
        var result = new double[f * outH * outW];
        for (int fo = 0; fo < f; fo++)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    double sum = 0;
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int ky = 0; ky < kh; ky++)
                        {
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int y = (oy * sh) - ph + ky, x = (ox * sw) - pw + kx;
                                if (y >= 0 && y < h && x >= 0 && x < w)
                                {
                                    sum += (double)image[(((ch * h) + y) * w) + x] * weight[(((((fo * c) + ch) * kh) + ky) * kw) + kx];
                                }
                            }
                        }
                    }

                    result[(((fo * outH) + oy) * outW) + ox] = sum;
                }
            }
        }

        return result;
    }

    /// <summary>Max pooling over planes [planes,H,W]; padding never wins. Returns output and flat argmax in the plane.</summary>
    public static (float[] Output, int[] Index) MaxPool(float[] input, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int outH = ((h + (2 * ph) - kh) / sh) + 1, outW = ((w + (2 * pw) - kw) / sw) + 1;
        var output = new float[planes * outH * outW];
        var index = new int[output.Length];
        for (int pl = 0; pl < planes; pl++)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    float best = float.NegativeInfinity;
                    int bestAt = -1;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int y = (oy * sh) - ph + ky, x = (ox * sw) - pw + kx;
                            if (y >= 0 && y < h && x >= 0 && x < w && (bestAt < 0 || input[(((pl * h) + y) * w) + x] > best))
                            {
                                best = input[(((pl * h) + y) * w) + x];
                                bestAt = (y * w) + x;
                            }
                        }
                    }

                    int o = (((pl * outH) + oy) * outW) + ox;
                    output[o] = best;
                    index[o] = bestAt;
                }
            }
        }

        return (output, index);
    }

    /// <summary>Average pooling, padding counted in the divisor (PyTorch's count_include_pad=True).</summary>
    public static double[] AvgPool(float[] input, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int outH = ((h + (2 * ph) - kh) / sh) + 1, outW = ((w + (2 * pw) - kw) / sw) + 1;
        var output = new double[planes * outH * outW];
        for (int pl = 0; pl < planes; pl++)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    double sum = 0;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int y = (oy * sh) - ph + ky, x = (ox * sw) - pw + kx;
                            if (y >= 0 && y < h && x >= 0 && x < w)
                            {
                                sum += input[(((pl * h) + y) * w) + x];
                            }
                        }
                    }

                    output[(((pl * outH) + oy) * outW) + ox] = sum / (kh * kw);
                }
            }
        }

        return output;
    }

    /// <summary>
    /// Batch normalisation of x [n, c, hw] in double: the statistics used (the batch's, biased variance, in training;
    /// the running ones otherwise), y, and in training the running statistics after the update.
    /// </summary>
    public static (double[] Mean, double[] InvStd, double[] Y, double[] RunningMean, double[] RunningVar) BatchNormForward(
        float[] x, int n, int c, int hw, float[] gamma, float[] beta, bool training, double momentum, double eps, float[] runningMean, float[] runningVar)
    {
        var mean = new double[c];
        var invStd = new double[c];
        var newMean = runningMean.Select(v => (double)v).ToArray();
        var newVar = runningVar.Select(v => (double)v).ToArray();
        int m = n * hw;
        for (int ch = 0; ch < c; ch++)
        {
            var values = new double[m];
            for (int b = 0; b < n; b++)
            {
                for (int i = 0; i < hw; i++)
                {
                    values[(b * hw) + i] = x[(((b * c) + ch) * hw) + i];
                }
            }

            double mu = training ? values.Average() : runningMean[ch];
            double variance = training ? values.Select(v => (v - mu) * (v - mu)).Sum() / m : runningVar[ch];
            mean[ch] = mu;
            invStd[ch] = 1 / Math.Sqrt(variance + eps);
            if (training && newMean.Length > 0)
            {
                newMean[ch] = ((1 - momentum) * runningMean[ch]) + (momentum * mu);
                newVar[ch] = ((1 - momentum) * runningVar[ch]) + (momentum * variance * m / (m - 1));
            }
        }

        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            y[i] = ((x[i] - mean[ch]) * invStd[ch] * gamma[ch]) + beta[ch];
        }

        return (mean, invStd, y, newMean, newVar);
    }

    /// <summary>
    /// The gradients of batch normalisation in double, from their definitions: dβ = Σ dy, dγ = Σ dy·x̂, and dx =
    /// γ·invStd·(dy − dβ/m − x̂·dγ/m) in training (m = n·hw), γ·invStd·dy otherwise; also the scales of their rounding
    /// errors: the same sums of magnitudes.
    /// </summary>
    public static (double[] Dx, double[] DGamma, double[] DBeta, double[] DGammaMagnitude, double[] DxMagnitude) BatchNormBackward(
        float[] x, float[] dy, int n, int c, int hw, float[] gamma, double[] mean, double[] invStd, bool training)
    {
        var dGamma = new double[c];
        var dBeta = new double[c];
        var magnitude = new double[c];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            double xhat = (x[i] - mean[ch]) * invStd[ch];
            dBeta[ch] += dy[i];
            dGamma[ch] += dy[i] * xhat;
            magnitude[ch] += Math.Abs(dy[i] * xhat);
        }

        int m = n * hw;
        var dx = new double[x.Length];
        var dxMagnitude = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            double xhat = (x[i] - mean[ch]) * invStd[ch];
            double k = gamma[ch] * invStd[ch];
            dx[i] = training ? k * (dy[i] - (dBeta[ch] / m) - (xhat * dGamma[ch] / m)) : k * dy[i];
            dxMagnitude[i] = Math.Abs(k) * (Math.Abs(dy[i]) + (training ? Math.Abs(dBeta[ch] / m) + Math.Abs(xhat * dGamma[ch] / m) : 0));
        }

        return (dx, dGamma, dBeta, magnitude, dxMagnitude);
    }

    /// <summary>Random floats in [−1, 1).</summary>
    public static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }
}
