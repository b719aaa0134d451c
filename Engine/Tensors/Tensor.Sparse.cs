using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;

namespace SparseNet.Engine.Tensors;

/// <summary>Products with a pruned weight that skip its pruned positions.</summary>
public sealed partial class Tensor
{
    /// <summary>
    /// x·Wᵀ for x [N, in] and a pruned weight W [out, in] run on the compressed form of its mask: the forward and
    /// input-gradient products touch only the kept weights, and W's gradient is computed at the kept positions only
    /// (zero at pruned ones, as the optimizer's masked gradient is). <paramref name="compressed"/> must hold W's mask
    /// with W's current values loaded. The result equals <c>MatMul(x, W, transposeB: true)</c> on a weight whose
    /// pruned entries are zero, to float rounding.
    /// </summary>
    internal static Tensor SparseLinear(Tensor x, Tensor weight, Tensor mask, SparseMatrix compressed)
    {
        var backend = x.Device.Backend;
        int batch = x.Shape[0], inputs = weight.Shape[1], outputs = weight.Shape[0];
        var workspace = x.NewEmpty([backend.SparseWorkspaceLength(inputs, batch)]);
        var y = x.NewEmpty([batch, outputs]);
        backend.SparseLinearForward(compressed, x, workspace, y);

        // The weight's gradient can go straight into its buffer (the sink); the input gradient made by that same call
        // is kept for the backward rule, which then skips the weight.
        Tensor? pendingDx = null;
        Tensor? pendingFor = null;
        return Record(
            y,
            "sparse_linear",
            [x, weight],
            (g, skip) =>
            {
                if (GradMode.IsEnabled)
                {
                    // A graph of the gradients is wanted (double backward): the same gradients as differentiable dense ops.
                    return
                    [
                        x.RequiresGrad ? MatMul(g, weight * mask) : null,
                        weight.RequiresGrad ? MatMul(g, x, transposeA: true) * mask : null,
                    ];
                }

                bool wantX = x.RequiresGrad && !(skip?[0] ?? false);
                bool wantW = weight.RequiresGrad && !(skip?[1] ?? false);
                if (ReferenceEquals(pendingFor, g))
                {
                    var made = pendingDx;
                    (pendingDx, pendingFor) = (null, null);
                    return [wantX ? made : null, null];
                }

                var dx = wantX ? x.NewEmpty([batch, inputs]) : null;
                var dw = wantW ? weight.NewEmpty([outputs, inputs]) : null;
                if (dx is not null || dw is not null)
                {
                    backend.SparseLinearBackward(compressed, workspace, g, dx, dw, SparseGradWrite.Overwrite);
                    if (dw is not null)
                    {
                        compressed.Wrote(dw, SparseGradWrite.Overwrite);
                    }
                }

                return [dx, dw];
            },
            (g, input, destination, accumulate) =>
            {
                if (input != 1)
                {
                    return false;
                }

                var dx = x.RequiresGrad ? x.NewEmpty([batch, inputs]) : null;
                var write = compressed.WriteModeFor(destination, accumulate);
                backend.SparseLinearBackward(compressed, workspace, g, dx, destination, write);
                compressed.Wrote(destination, write);
                (pendingDx, pendingFor) = (dx, g);
                return true;
            });
    }

    /// <summary>
    /// A convolution with a pruned weight w [O,C,KH,KW] run on the compressed form of its mask (see
    /// <see cref="SparseLinear"/>): the same values as <c>Conv2d</c> on a weight whose pruned entries are zero, to
    /// float rounding, with w's gradient at the kept positions only. <paramref name="geo"/> comes from
    /// <see cref="Conv2dGeometryOf"/>.
    /// </summary>
    internal static Tensor SparseConv2d(Tensor x, Tensor w, Tensor? bias, Tensor mask, SparseMatrix compressed, Conv2dGeometry geo, bool relu)
    {
        var backend = x.Device.Backend;
        var y = x.NewEmpty([geo.N, geo.O, geo.OH, geo.OW]);
        backend.SparseConv2d(compressed, x, bias, geo, y, relu);
        Tensor[] inputs = bias is null ? [x, w] : [x, w, bias];

        // With a fused ReLU the output gradient is masked by the output inside the kernels (each reads y beside dy),
        // and the weight gradient's pass over dy also sums the bias gradient: neither the masked gradient nor a second
        // pass over it is made. The weight gradient runs once, in the sink or in the rule, whichever comes first; the
        // bias gradient it summed waits here for the rule.
        Tensor? reluOutput = relu ? y : null;
        Tensor? summedFor = null, summedBias = null;
        Tensor? NewBiasGrad() => bias is not null && bias.RequiresGrad ? x.NewEmpty([geo.O]) : null;

        return Record(
            y,
            relu ? "sparse_conv2d_relu" : "sparse_conv2d",
            inputs,
            (g, skip) =>
            {
                if (GradMode.IsEnabled)
                {
                    // A graph of the gradients is wanted: the dense rules, on the masked weight.
                    g = relu ? g.WherePositive(y) : g;
                    var kept = w * mask;
                    Tensor? biasGrad = bias is not null && bias.RequiresGrad ? g.SumTo([1, geo.O, 1, 1]).Reshape(geo.O) : null;
                    return [x.RequiresGrad ? ConvInputGrad(g, kept, geo) : null, w.RequiresGrad ? ConvWeightGrad(x, g, geo) * mask : null, biasGrad];
                }

                Tensor? db = ReferenceEquals(summedFor, g) ? summedBias : null;
                (summedFor, summedBias) = (null, null);
                Tensor? dx = null, dw = null;
                if (x.RequiresGrad)
                {
                    dx = x.NewEmpty([geo.N, geo.C, geo.H, geo.W]);
                    backend.SparseConv2dInputGrad(compressed, g, reluOutput, geo, dx);
                }

                if (w.RequiresGrad && !(skip?[1] ?? false))
                {
                    dw = w.NewEmpty([geo.O, geo.C, geo.KH, geo.KW]);
                    db = NewBiasGrad();
                    backend.SparseConv2dWeightGrad(compressed, x, g, reluOutput, geo, dw, SparseGradWrite.Overwrite, db);
                    compressed.Wrote(dw, SparseGradWrite.Overwrite);
                }
                else if (db is null && NewBiasGrad() is { } alone)
                {
                    // No weight gradient to sum it beside: the bias gradient on its own, with the same bits.
                    backend.SparseConv2dBiasGrad(g, reluOutput, geo, alone);
                    db = alone;
                }

                return bias is null ? [dx, dw] : [dx, dw, db];
            },
            (g, input, destination, accumulate) =>
            {
                if (input != 1)
                {
                    return false;
                }

                var write = compressed.WriteModeFor(destination, accumulate);
                var db = NewBiasGrad();
                backend.SparseConv2dWeightGrad(compressed, x, g, reluOutput, geo, destination, write, db);
                compressed.Wrote(destination, write);
                (summedFor, summedBias) = (g, db);
                return true;
            });
    }
}
