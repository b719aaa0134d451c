namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Naive double-precision forward definitions of every differentiable engine op, written from the op's
/// mathematical definition with plain loops and independent of the engine's shape helpers. Gradient
/// checks differentiate these numerically.
/// </summary>
public static class DoubleReference
{
    // ---- broadcasting elementwise ------------------------------------------------------------

    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException("ref: shapes do not broadcast");
            }

            r[i] = Math.Max(da, db);
        }

        return r;
    }

    /// <summary>Flat index into <paramref name="t"/> of an output multi-index under broadcasting.</summary>
    private static int BroadcastIndex(RefTensor t, int[] outIndex)
    {
        int offset = outIndex.Length - t.Rank, flat = 0;
        for (int d = 0; d < t.Rank; d++)
        {
            int i = t.Shape[d] == 1 ? 0 : outIndex[d + offset];
            flat = (flat * t.Shape[d]) + i;
        }

        return flat;
    }

    public static RefTensor Zip(RefTensor a, RefTensor b, Func<double, double, double> f)
    {
        int[] shape = BroadcastShape(a.Shape, b.Shape);
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < r.Size; i++)
        {
            int[] idx = RefTensor.Unravel(i, shape);
            r.Data[i] = f(a.Data[BroadcastIndex(a, idx)], b.Data[BroadcastIndex(b, idx)]);
        }

        return r;
    }

    public static RefTensor Add(RefTensor a, RefTensor b) => Zip(a, b, (x, y) => x + y);

    public static RefTensor Sub(RefTensor a, RefTensor b) => Zip(a, b, (x, y) => x - y);

    public static RefTensor Mul(RefTensor a, RefTensor b) => Zip(a, b, (x, y) => x * y);

    public static RefTensor Div(RefTensor a, RefTensor b) => Zip(a, b, (x, y) => x / y);

    public static RefTensor Map(RefTensor a, Func<double, double> f) => new(Array.ConvertAll(a.Data, v => f(v)), (int[])a.Shape.Clone());

    public static RefTensor Affine(RefTensor a, double scale, double shift) => Map(a, v => (v * scale) + shift);

    public static RefTensor Pow(RefTensor a, double p) => Map(a, v => Math.Pow(v, p));

    public static RefTensor Neg(RefTensor a) => Map(a, v => -v);

    public static RefTensor Exp(RefTensor a) => Map(a, Math.Exp);

    public static RefTensor Log(RefTensor a) => Map(a, Math.Log);

    public static RefTensor Relu(RefTensor a) => Map(a, v => v > 0 ? v : 0);

    public static RefTensor Tanh(RefTensor a) => Map(a, Math.Tanh);

    public static RefTensor Sigmoid(RefTensor a) => Map(a, v => 1 / (1 + Math.Exp(-v)));

    public static RefTensor Sqrt(RefTensor a) => Map(a, Math.Sqrt);

    public static RefTensor Square(RefTensor a) => Map(a, v => v * v);

    public static RefTensor Abs(RefTensor a) => Map(a, Math.Abs);

    // ---- shapes --------------------------------------------------------------------------------

    public static RefTensor Reshape(RefTensor a, params int[] shape)
    {
        int known = 1, infer = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                infer = i;
            }
            else
            {
                known *= shape[i];
            }
        }

        int[] s = (int[])shape.Clone();
        if (infer >= 0)
        {
            s[infer] = a.Size / known;
        }

        return new RefTensor((double[])a.Data.Clone(), s);
    }

    public static RefTensor Flatten(RefTensor a) => Reshape(a, a.Shape[0], a.Size / a.Shape[0]);

    /// <summary>Swaps the last two dimensions.</summary>
    public static RefTensor Transpose(RefTensor a)
    {
        int[] shape = (int[])a.Shape.Clone();
        (shape[^1], shape[^2]) = (shape[^2], shape[^1]);
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < a.Size; i++)
        {
            int[] idx = RefTensor.Unravel(i, a.Shape);
            (idx[^1], idx[^2]) = (idx[^2], idx[^1]);
            r.Data[Ravel(idx, shape)] = a.Data[i];
        }

        return r;
    }

    /// <summary>Sums <paramref name="a"/> down to a shape that broadcasts to it.</summary>
    public static RefTensor SumTo(RefTensor a, int[] shape)
    {
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < a.Size; i++)
        {
            r.Data[BroadcastIndex(r, RefTensor.Unravel(i, a.Shape))] += a.Data[i];
        }

        return r;
    }

    public static RefTensor BroadcastTo(RefTensor a, int[] shape)
    {
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < r.Size; i++)
        {
            r.Data[i] = a.Data[BroadcastIndex(a, RefTensor.Unravel(i, shape))];
        }

        return r;
    }

    public static RefTensor Sum(RefTensor a, int[] axes, bool keepDim)
    {
        int[] kept = (int[])a.Shape.Clone();
        foreach (int ax in axes)
        {
            kept[ax < 0 ? ax + a.Rank : ax] = 1;
        }

        var s = SumTo(a, kept);
        if (keepDim)
        {
            return s;
        }

        var dropped = new List<int>();
        for (int d = 0; d < a.Rank; d++)
        {
            if (!axes.Any(ax => (ax < 0 ? ax + a.Rank : ax) == d))
            {
                dropped.Add(a.Shape[d]);
            }
        }

        return new RefTensor(s.Data, [.. dropped]);
    }

    public static RefTensor SumAll(RefTensor a) => new([a.Data.Sum()], []);

    public static RefTensor Mean(RefTensor a, int[] axes, bool keepDim)
    {
        var s = Sum(a, axes, keepDim);
        double count = (double)a.Size / s.Size;
        return Affine(s, 1 / count, 0);
    }

    public static RefTensor MeanAll(RefTensor a) => new([a.Data.Average()], []);

    public static RefTensor Max(RefTensor a, int axis, bool keepDim)
    {
        int ax = axis < 0 ? axis + a.Rank : axis;
        int[] kept = (int[])a.Shape.Clone();
        kept[ax] = 1;
        var r = RefTensor.Zeros(kept);
        Array.Fill(r.Data, double.NegativeInfinity);
        for (int i = 0; i < a.Size; i++)
        {
            int[] idx = RefTensor.Unravel(i, a.Shape);
            idx[ax] = 0;
            int o = Ravel(idx, kept);
            r.Data[o] = Math.Max(r.Data[o], a.Data[i]);
        }

        return keepDim ? r : new RefTensor(r.Data, [.. a.Shape.Where((_, d) => d != ax)]);
    }

    public static RefTensor Narrow(RefTensor a, int axis, int start, int length)
    {
        int[] shape = (int[])a.Shape.Clone();
        shape[axis] = length;
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < r.Size; i++)
        {
            int[] idx = RefTensor.Unravel(i, shape);
            idx[axis] += start;
            r.Data[i] = a.Data[Ravel(idx, a.Shape)];
        }

        return r;
    }

    public static RefTensor Pad(RefTensor a, int axis, int start, int size)
    {
        int[] shape = (int[])a.Shape.Clone();
        shape[axis] = size;
        var r = RefTensor.Zeros(shape);
        for (int i = 0; i < a.Size; i++)
        {
            int[] idx = RefTensor.Unravel(i, a.Shape);
            idx[axis] += start;
            r.Data[Ravel(idx, shape)] = a.Data[i];
        }

        return r;
    }

    public static RefTensor Concat(IReadOnlyList<RefTensor> parts, int axis)
    {
        int[] shape = (int[])parts[0].Shape.Clone();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        var r = RefTensor.Zeros(shape);
        int offset = 0;
        foreach (var p in parts)
        {
            for (int i = 0; i < p.Size; i++)
            {
                int[] idx = RefTensor.Unravel(i, p.Shape);
                idx[axis] += offset;
                r.Data[Ravel(idx, shape)] = p.Data[i];
            }

            offset += p.Shape[axis];
        }

        return r;
    }

    // ---- nn ------------------------------------------------------------------------------------

    /// <summary>op(A)·op(B) over equal leading batch dimensions.</summary>
    public static RefTensor MatMul(RefTensor a, RefTensor b, bool ta, bool tb)
    {
        var opA = ta ? Transpose(a) : a;
        var opB = tb ? Transpose(b) : b;
        int m = opA.Shape[^2], k = opA.Shape[^1], n = opB.Shape[^1];
        if (opB.Shape[^2] != k)
        {
            throw new ArgumentException("ref: inner dimensions differ");
        }

        int[] shape = (int[])opA.Shape.Clone();
        shape[^1] = n;
        var r = RefTensor.Zeros(shape);
        int batches = r.Size / (m * n);
        for (int bt = 0; bt < batches; bt++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        s += opA.Data[(bt * m * k) + (i * k) + p] * opB.Data[(bt * k * n) + (p * n) + j];
                    }

                    r.Data[(bt * m * n) + (i * n) + j] = s;
                }
            }
        }

        return r;
    }

    public static RefTensor LogSoftmax(RefTensor a)
    {
        int n = a.Shape[^1];
        var r = RefTensor.Zeros((int[])a.Shape.Clone());
        for (int off = 0; off < a.Size; off += n)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < n; j++)
            {
                max = Math.Max(max, a.Data[off + j]);
            }

            double s = 0;
            for (int j = 0; j < n; j++)
            {
                s += Math.Exp(a.Data[off + j] - max);
            }

            double lse = max + Math.Log(s);
            for (int j = 0; j < n; j++)
            {
                r.Data[off + j] = a.Data[off + j] - lse;
            }
        }

        return r;
    }

    public static RefTensor Softmax(RefTensor a) => Exp(LogSoftmax(a));

    /// <summary>Mean over rows of −log softmax(logits)[label].</summary>
    public static RefTensor SoftmaxCrossEntropy(RefTensor logits, int[] labels)
    {
        var ls = LogSoftmax(logits);
        int c = logits.Shape[1];
        double total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            total -= ls.Data[(i * c) + labels[i]];
        }

        return new RefTensor([total / labels.Length], []);
    }

    /// <summary>Cross-correlation of x [N,C,H,W] with w [O,C,KH,KW], zero padding, optional bias [O].</summary>
    public static RefTensor Conv2d(RefTensor x, RefTensor w, RefTensor? bias, int strideH, int strideW, int padH, int padW)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int o = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3];
        int oh = ((h + (2 * padH) - kh) / strideH) + 1, ow = ((wd + (2 * padW) - kw) / strideW) + 1;
        var r = RefTensor.Zeros(n, o, oh, ow);
        for (int b = 0; b < n; b++)
        {
            for (int oc = 0; oc < o; oc++)
            {
                for (int y = 0; y < oh; y++)
                {
                    for (int xo = 0; xo < ow; xo++)
                    {
                        double s = bias is null ? 0 : bias.Data[oc];
                        for (int ic = 0; ic < c; ic++)
                        {
                            for (int i = 0; i < kh; i++)
                            {
                                int iy = (y * strideH) - padH + i;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }

                                for (int j = 0; j < kw; j++)
                                {
                                    int ix = (xo * strideW) - padW + j;
                                    if (ix < 0 || ix >= wd)
                                    {
                                        continue;
                                    }

                                    s += x.Data[(((((b * c) + ic) * h) + iy) * wd) + ix] * w.Data[(((((oc * c) + ic) * kh) + i) * kw) + j];
                                }
                            }
                        }

                        r.Data[(((((b * o) + oc) * oh) + y) * ow) + xo] = s;
                    }
                }
            }
        }

        return r;
    }

    /// <summary>Max pooling; padded positions never win.</summary>
    public static RefTensor MaxPool2d(RefTensor x, int k, int stride, int pad) => Pool(x, k, stride, pad, average: false);

    /// <summary>Average pooling; padded positions count as zeros and the divisor is always k·k.</summary>
    public static RefTensor AvgPool2d(RefTensor x, int k, int stride, int pad) => Pool(x, k, stride, pad, average: true);

    public static RefTensor GlobalAvgPool2d(RefTensor x) => Mean(x, [2, 3], keepDim: false);

    private static RefTensor Pool(RefTensor x, int k, int stride, int pad, bool average)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = ((h + (2 * pad) - k) / stride) + 1, ow = ((w + (2 * pad) - k) / stride) + 1;
        var r = RefTensor.Zeros(n, c, oh, ow);
        for (int p = 0; p < n * c; p++)
        {
            for (int y = 0; y < oh; y++)
            {
                for (int xo = 0; xo < ow; xo++)
                {
                    double acc = average ? 0 : double.NegativeInfinity;
                    for (int i = 0; i < k; i++)
                    {
                        for (int j = 0; j < k; j++)
                        {
                            int iy = (y * stride) - pad + i, ix = (xo * stride) - pad + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            {
                                continue;
                            }

                            double v = x.Data[(((p * h) + iy) * w) + ix];
                            acc = average ? acc + v : Math.Max(acc, v);
                        }
                    }

                    r.Data[(((p * oh) + y) * ow) + xo] = average ? acc / (k * k) : acc;
                }
            }
        }

        return r;
    }

    /// <summary>Mean and biased variance per channel of x [N,C,H,W], over N·H·W values each.</summary>
    public static (double[] Mean, double[] Variance) ChannelStatistics(RefTensor x)
    {
        int n = x.Shape[0], c = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        var mean = new double[c];
        var variance = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int b = 0; b < n; b++)
            {
                for (int i = 0; i < hw; i++)
                {
                    sum += x.Data[(((b * c) + ch) * hw) + i];
                }
            }

            mean[ch] = sum / (n * hw);
            double sq = 0;
            for (int b = 0; b < n; b++)
            {
                for (int i = 0; i < hw; i++)
                {
                    double d = x.Data[(((b * c) + ch) * hw) + i] - mean[ch];
                    sq += d * d;
                }
            }

            variance[ch] = sq / (n * hw);
        }

        return (mean, variance);
    }

    /// <summary>Batch normalisation with the batch's statistics: (x − mean)/√(var + eps)·γ + β per channel.</summary>
    public static RefTensor BatchNormTrain(RefTensor x, RefTensor gamma, RefTensor beta, double eps)
    {
        var (mean, variance) = ChannelStatistics(x);
        return BatchNormWith(x, gamma, beta, mean, variance, eps);
    }

    /// <summary>Batch normalisation with given (running) statistics.</summary>
    public static RefTensor BatchNormWith(RefTensor x, RefTensor gamma, RefTensor beta, double[] mean, double[] variance, double eps)
    {
        int c = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        var r = RefTensor.Zeros((int[])x.Shape.Clone());
        for (int i = 0; i < x.Size; i++)
        {
            int ch = i / hw % c;
            r.Data[i] = ((x.Data[i] - mean[ch]) / Math.Sqrt(variance[ch] + eps) * gamma.Data[ch]) + beta.Data[ch];
        }

        return r;
    }

    private static int Ravel(int[] idx, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            flat = (flat * shape[d]) + idx[d];
        }

        return flat;
    }
}
