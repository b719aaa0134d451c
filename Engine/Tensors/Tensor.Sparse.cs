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

        // With a fused ReLU the output gradient is masked by the output once, by the sink or by the rule, whichever
        // runs first; the other takes it from here.
        Tensor? gradFor = null, masked = null;
        Tensor Masked(Tensor g)
        {
            if (!relu)
            {
                return g;
            }

            if (!ReferenceEquals(gradFor, g))
            {
                (gradFor, masked) = (g, g.WherePositive(y));
            }

            return masked!;
        }

        return Record(
            y,
            relu ? "sparse_conv2d_relu" : "sparse_conv2d",
            inputs,
            (g, skip) =>
            {
                g = GradMode.IsEnabled && relu ? g.WherePositive(y) : Masked(g);
                (gradFor, masked) = (null, null);
                Tensor? db = bias is not null && bias.RequiresGrad ? g.SumTo([1, geo.O, 1, 1]).Reshape(geo.O) : null;
                if (GradMode.IsEnabled)
                {
                    // A graph of the gradients is wanted: the dense rules, on the masked weight.
                    var kept = w * mask;
                    return [x.RequiresGrad ? ConvInputGrad(g, kept, geo) : null, w.RequiresGrad ? ConvWeightGrad(x, g, geo) * mask : null, db];
                }

                Tensor? dx = null, dw = null;
                if (x.RequiresGrad)
                {
                    dx = x.NewEmpty([geo.N, geo.C, geo.H, geo.W]);
                    backend.SparseConv2dInputGrad(compressed, g, geo, dx);
                }

                if (w.RequiresGrad && !(skip?[1] ?? false))
                {
                    dw = w.NewEmpty([geo.O, geo.C, geo.KH, geo.KW]);
                    backend.SparseConv2dWeightGrad(compressed, x, g, geo, dw, SparseGradWrite.Overwrite);
                    compressed.Wrote(dw, SparseGradWrite.Overwrite);
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
                backend.SparseConv2dWeightGrad(compressed, x, Masked(g), geo, destination, write);
                compressed.Wrote(destination, write);
                return true;
            });
    }
}
