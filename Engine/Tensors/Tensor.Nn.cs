using SparseNet.Engine.Devices;

namespace SparseNet.Engine.Tensors;

/// <summary>Neural-network ops: matrix products, softmax family, convolution, pooling.</summary>
public sealed partial class Tensor
{
    /// <summary>
    /// op(A)·op(B) for rank-2 tensors, or batched over equal leading dimensions for higher ranks;
    /// op transposes the last two dimensions when asked, without copying.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank < 2 || a.Rank != b.Rank || !a.Shape.AsSpan(0, a.Rank - 2).SequenceEqual(b.Shape.AsSpan(0, b.Rank - 2)))
        {
            throw new ArgumentException($"matmul: {Tensors.Shape.Format(a.Shape)} x {Tensors.Shape.Format(b.Shape)}: need equal ranks ≥ 2 with equal batch dimensions");
        }

        int m = transposeA ? a.Shape[^1] : a.Shape[^2];
        int ka = transposeA ? a.Shape[^2] : a.Shape[^1];
        int kb = transposeB ? b.Shape[^1] : b.Shape[^2];
        int n = transposeB ? b.Shape[^2] : b.Shape[^1];
        if (ka != kb)
        {
            string ta = transposeA ? "ᵀ" : string.Empty;
            string tb = transposeB ? "ᵀ" : string.Empty;
            throw new ArgumentException($"matmul: {Tensors.Shape.Format(a.Shape)}{ta} x {Tensors.Shape.Format(b.Shape)}{tb}: inner dimensions differ ({ka} vs {kb})");
        }

        if (a.Device != b.Device)
        {
            throw new ArgumentException($"matmul: operands on different devices ({a.Device} and {b.Device})");
        }

        int[] shape = (int[])a.Shape.Clone();
        shape[^2] = m;
        shape[^1] = n;
        var y = a.NewEmpty(shape);
        a.Device.Backend.MatMul(a, b, transposeA, transposeB, y);
        return Record(
            y,
            "matmul",
            [a, b],
            (g, skip) =>
            [
                !a.RequiresGrad || (skip?[0] ?? false) ? null : transposeA ? MatMul(b, g, transposeB, true) : MatMul(g, b, false, !transposeB),
                !b.RequiresGrad || (skip?[1] ?? false) ? null : transposeB ? MatMul(g, a, true, transposeA) : MatMul(a, g, !transposeA, false),
            ],
            (g, input, destination, accumulate) =>
            {
                // The same products as the rule above, written into the destination (a parameter's gradient).
                var (l, r, tl, tr) = input == 0
                    ? transposeA ? (b, g, transposeB, true) : (g, b, false, !transposeB)
                    : transposeB ? (g, a, true, transposeA) : (a, g, !transposeA, false);
                return g.Device.Backend.MatMulInto(l, r, tl, tr, destination, accumulate);
            });
    }

    /// <summary>log-softmax over the last axis, computed stably.</summary>
    public Tensor LogSoftmax()
    {
        RequireRank("log_softmax", 1);
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.LogSoftmax(this, y);
        return Record(y, "log_softmax", [this], g => [g - (y.Exp() * g.Sum([-1], keepDim: true))]);
    }

    /// <summary>softmax over the last axis, computed stably.</summary>
    public Tensor Softmax()
    {
        RequireRank("softmax", 1);
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.Softmax(this, y);
        return Record(y, "softmax", [this], g => [y * (g - (g * y).Sum([-1], keepDim: true))]);
    }

    /// <summary>
    /// Mean cross-entropy of logits [N, classes] against integer labels, fused and numerically stable.
    /// Its gradient, (softmax − onehot)/N, is written with differentiable ops so it can be differentiated again.
    /// </summary>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 2 || logits.Shape[0] != labels.Length)
        {
            throw new ArgumentException($"cross_entropy: logits {Tensors.Shape.Format(logits.Shape)} need shape [N, classes] with N = {labels.Length} labels");
        }

        int classes = logits.Shape[1];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException($"cross_entropy: label {labels[i]} at row {i} is outside [0, {classes})");
            }
        }

        var y = logits.NewEmpty([]);
        logits.Device.Backend.SoftmaxCrossEntropy(logits, labels, y);
        int[] labelCopy = labels.ToArray();
        return Record(y, "cross_entropy", [logits], g =>
        {
            var oneHot = logits.NewEmpty((int[])logits.Shape.Clone());
            logits.Device.Backend.OneHot(labelCopy, oneHot);
            return [(logits.Softmax() - oneHot) * (g * (1f / Math.Max(1, labelCopy.Length)))];
        });
    }

    /// <summary>2-D cross-correlation of x [N,C,H,W] with w [O,C,KH,KW]; bias [O] optional.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0) =>
        Conv2d(x, w, bias, (stride, stride), (padding, padding));

    /// <summary>
    /// 2-D cross-correlation with separate vertical and horizontal stride and padding; with <paramref name="relu"/>,
    /// followed by ReLU in the same pass (the same values and gradients, bit for bit, as <c>Conv2d(…).Relu()</c>, with
    /// one pass fewer over the output).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, bool relu = false) =>
        ConvForward(x, w, bias, Conv2dGeometryOf(x, w, bias, stride, padding), relu);

    /// <summary>The geometry of a convolution of these operands, checked (shapes, stride, padding, devices), naming the values.</summary>
    internal static Conv2dGeometry Conv2dGeometryOf(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        if (x.Rank != 4 || w.Rank != 4 || x.Shape[1] != w.Shape[1])
        {
            throw new ArgumentException($"conv2d: input {Tensors.Shape.Format(x.Shape)} and weight {Tensors.Shape.Format(w.Shape)}: need [N,C,H,W] and [O,C,KH,KW] with equal C");
        }

        if (stride.H < 1 || stride.W < 1 || padding.H < 0 || padding.W < 0)
        {
            throw new ArgumentException($"conv2d: stride ({stride.H},{stride.W}) must be ≥ 1 and padding ({padding.H},{padding.W}) ≥ 0");
        }

        var geo = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], w.Shape[2], w.Shape[3], stride.H, stride.W, padding.H, padding.W);
        if (x.Shape[2] + (2 * padding.H) < w.Shape[2] || x.Shape[3] + (2 * padding.W) < w.Shape[3])
        {
            throw new ArgumentException($"conv2d: kernel {w.Shape[2]}x{w.Shape[3]} is larger than the padded input {x.Shape[2] + (2 * padding.H)}x{x.Shape[3] + (2 * padding.W)}");
        }

        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != geo.O))
        {
            throw new ArgumentException($"conv2d: bias {Tensors.Shape.Format(bias.Shape)} does not match {geo.O} output channels");
        }

        if (w.Device != x.Device || (bias is not null && bias.Device != x.Device))
        {
            throw new ArgumentException($"conv2d: input on {x.Device}, weight on {w.Device}{(bias is null ? "" : $", bias on {bias.Device}")}: all must be on one device");
        }

        return geo;
    }

    // The bias is added inside the convolution, with the same rounding as a separate broadcast addition; its gradient
    // is that addition's (dy summed over images and positions). With relu, y > 0 exactly where the convolution's value
    // was, so y masks the gradient as a separate ReLU's backward would.
    private static Tensor ConvForward(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry geo, bool relu = false)
    {
        var y = x.NewEmpty([geo.N, geo.O, geo.OH, geo.OW]);
        x.Device.Backend.Conv2d(x, w, bias, geo, y, relu);
        string name = relu ? "conv2d_relu" : "conv2d";
        if (bias is null)
        {
            return Record(y, name, [x, w], g =>
            {
                g = relu ? g.WherePositive(y) : g;
                return [x.RequiresGrad ? ConvInputGrad(g, w, geo) : null, w.RequiresGrad ? ConvWeightGrad(x, g, geo) : null];
            });
        }

        return Record(y, name, [x, w, bias], g =>
        {
            g = relu ? g.WherePositive(y) : g;
            return
            [
                x.RequiresGrad ? ConvInputGrad(g, w, geo) : null,
                w.RequiresGrad ? ConvWeightGrad(x, g, geo) : null,
                bias.RequiresGrad ? g.SumTo([1, geo.O, 1, 1]).Reshape(geo.O) : null,
            ];
        });
    }

    // The two gradients of a convolution are bilinear ops themselves; their own gradients close the set.
    private static Tensor ConvInputGrad(Tensor dy, Tensor w, Conv2dGeometry geo)
    {
        var dx = dy.NewEmpty([geo.N, geo.C, geo.H, geo.W]);
        dy.Device.Backend.Conv2dInputGrad(dy, w, geo, dx);
        return Record(dx, "conv2d_input_grad", [dy, w], g =>
            [dy.RequiresGrad ? ConvForward(g, w, null, geo) : null, w.RequiresGrad ? ConvWeightGrad(g, dy, geo) : null]);
    }

    private static Tensor ConvWeightGrad(Tensor x, Tensor dy, Conv2dGeometry geo)
    {
        var dw = x.NewEmpty([geo.O, geo.C, geo.KH, geo.KW]);
        x.Device.Backend.Conv2dWeightGrad(x, dy, geo, dw);
        return Record(dw, "conv2d_weight_grad", [x, dy], g =>
            [x.RequiresGrad ? ConvInputGrad(dy, g, geo) : null, dy.RequiresGrad ? ConvForward(x, g, null, geo) : null]);
    }

    /// <summary>Max pooling over [N,C,H,W]; padding counts as −∞.</summary>
    public Tensor MaxPool2d(int kernel, int stride = -1, int padding = 0)
    {
        var geo = PoolGeometry("max_pool2d", kernel, stride < 0 ? kernel : stride, padding);
        var argmax = Device.Backend.AllocateIndices(geo.Planes * geo.OH * geo.OW); // every entry is written
        var y = NewEmpty([Shape[0], Shape[1], geo.OH, geo.OW]);
        Device.Backend.MaxPool2d(this, geo, y, argmax);
        var x = this;
        return Record(y, "max_pool2d", [x], g => [MaxPoolBackward(g, argmax, geo, x.Shape)]);
    }

    // Scatter-add of dy to the maxima, split by plane; differentiating it again gathers at the same indices.
    private static Tensor MaxPoolBackward(Tensor dy, IndexBuffer argmax, Pool2dGeometry geo, int[] inputShape)
    {
        var dx = dy.NewEmpty((int[])inputShape.Clone());
        dy.Device.Backend.MaxPool2dBackward(dy, argmax, geo, dx);
        return Record(dx, "max_pool2d_backward", [dy], g => [g.GatherFlat(argmax, dy.Shape)]);
    }

    /// <summary>Average pooling over [N,C,H,W]; padding counts as zeros in the average.</summary>
    public Tensor AvgPool2d(int kernel, int stride = -1, int padding = 0)
    {
        var geo = PoolGeometry("avg_pool2d", kernel, stride < 0 ? kernel : stride, padding);
        return AvgPoolForward(this, geo);
    }

    /// <summary>Mean over the spatial dimensions: [N,C,H,W] → [N,C].</summary>
    public Tensor GlobalAvgPool2d()
    {
        RequireRank("global_avg_pool2d", 4);
        return Mean([2, 3]);
    }

    private static Tensor AvgPoolForward(Tensor x, Pool2dGeometry geo)
    {
        var y = x.NewEmpty([x.Shape[0], x.Shape[1], geo.OH, geo.OW]);
        x.Device.Backend.AvgPool2d(x, geo, y);
        return Record(y, "avg_pool2d", [x], g => [AvgPoolBackward(g, geo, x.Shape)]);
    }

    private static Tensor AvgPoolBackward(Tensor dy, Pool2dGeometry geo, int[] inputShape)
    {
        var dx = dy.NewEmpty((int[])inputShape.Clone());
        dy.Device.Backend.AvgPool2dBackward(dy, geo, dx);
        return Record(dx, "avg_pool2d_backward", [dy], g => [AvgPoolForward(g, geo)]);
    }

    /// <summary>result[i] = this[index[i]] over flat indices, shaped <paramref name="shape"/>.</summary>
    internal Tensor GatherFlat(IndexBuffer index, int[] shape)
    {
        var x = this;
        var y = NewEmpty((int[])shape.Clone());
        Device.Backend.Gather(this, index, y);
        return Record(y, "gather", [x], g => [g.ScatterAddFlat(index, x.Shape)]);
    }

    /// <summary>A zero tensor of <paramref name="shape"/> with this[i] added at flat index[i].</summary>
    internal Tensor ScatterAddFlat(IndexBuffer index, int[] shape)
    {
        var x = this;
        var y = NewEmpty((int[])shape.Clone());
        Device.Backend.ScatterAdd(this, index, y);
        return Record(y, "scatter_add", [x], g => [g.GatherFlat(index, x.Shape)]);
    }

    private Pool2dGeometry PoolGeometry(string op, int kernel, int stride, int padding)
    {
        RequireRank(op, 4);
        if (kernel < 1 || stride < 1 || padding < 0 || padding * 2 > kernel)
        {
            throw new ArgumentException($"{op}: kernel {kernel}, stride {stride}, padding {padding}: need kernel ≥ 1, stride ≥ 1, 0 ≤ padding ≤ kernel/2");
        }

        if (Shape[2] + (2 * padding) < kernel || Shape[3] + (2 * padding) < kernel)
        {
            throw new ArgumentException($"{op}: kernel {kernel} is larger than the padded input {Tensors.Shape.Format(Shape)} with padding {padding}");
        }

        return new Pool2dGeometry(Shape[0] * Shape[1], Shape[2], Shape[3], kernel, kernel, stride, stride, padding, padding);
    }

    private void RequireRank(string op, int rank)
    {
        if (rank == 4 ? Rank != 4 : Rank < rank)
        {
            throw new ArgumentException($"{op}: shape {Tensors.Shape.Format(Shape)} has rank {Rank}, need {(rank == 4 ? "4 ([N,C,H,W])" : $"at least {rank}")}");
        }
    }
}
