using SparseNet.Engine.Tensors;
using static SparseNet.Tests.Engine.Autograd.InputKind;
using static SparseNet.Tests.Engine.Autograd.OpGradientTests;
using R = SparseNet.Tests.Engine.Autograd.DoubleReference;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Double backward: Hessian-vector products of Σ r·f(x) over all inputs of f jointly, against mixed central
/// differences of the double reference. Linear ops are composed with a curved one so that the backward
/// rules of their backward rules are exercised too.
/// </summary>
public class SecondOrderTests
{
    private static readonly int[] Labels = [1, 0, 3, 2, 3];

    public static IEnumerable<TestCaseData> Cases() => AllCases().Select(c => new TestCaseData(c).SetName($"Hvp_{c.Name}"));

    [TestCaseSource(nameof(Cases))]
    public void Hessian_vector_product_matches_double_reference(OpCase c) => GradientChecker.CheckHessianVector(c);

    private static IEnumerable<OpCase> AllCases()
    {
        yield return new("tanh", [In(Uniform, 3, 5)], x => (x[0] * 2f).Tanh(), x => R.Tanh(R.Affine(x[0], 2, 0)));
        yield return new("sigmoid", [In(Uniform, 4, 3)], x => (x[0] * 3f).Sigmoid(), x => R.Sigmoid(R.Affine(x[0], 3, 0)));
        yield return new("exp", [In(Uniform, 2, 5)], x => x[0].Exp(), x => R.Exp(x[0]));
        yield return new("log", [In(Positive, 3, 4)], x => x[0].Log(), x => R.Log(x[0]));
        yield return new("sqrt", [In(Positive, 3, 4)], x => x[0].Sqrt(), x => R.Sqrt(x[0]));
        yield return new("pow_2_5", [In(Positive, 2, 5)], x => x[0].Pow(2.5f), x => R.Pow(x[0], 2.5));
        yield return new("mul_broadcast", [In(Uniform, 3, 1, 5), In(Uniform, 4, 5)], x => x[0] * x[1], x => R.Mul(x[0], x[1]));
        yield return new("mul_self", [In(Uniform, 3, 4)], x => x[0] * x[0] * x[0], x => R.Mul(R.Mul(x[0], x[0]), x[0]));
        yield return new("div_broadcast", [In(Uniform, 2, 3), In(Positive, 3)], x => x[0] / x[1], x => R.Div(x[0], x[1]));
        yield return new("sub_square", [In(Uniform, 2, 3), In(Uniform, 3)], x => (x[0] - x[1]).Square(), x => R.Square(R.Sub(x[0], x[1])));
        yield return new("relu_square", [In(AwayFromZero, 3, 5)], x => x[0].Relu().Square(), x => R.Square(R.Relu(x[0])));
        yield return new("abs_times_x", [In(AwayFromZero, 3, 5)], x => x[0].Abs() * x[0], x => R.Mul(R.Abs(x[0]), x[0]));

        yield return new("matmul_NN", [In(Uniform, 3, 4), In(Uniform, 4, 5)], x => Tensor.MatMul(x[0], x[1]), x => R.MatMul(x[0], x[1], false, false));
        yield return new("matmul_NT", [In(Uniform, 3, 4), In(Uniform, 5, 4)], x => Tensor.MatMul(x[0], x[1], false, true), x => R.MatMul(x[0], x[1], false, true));
        yield return new("matmul_TN_batched", [In(Uniform, 2, 4, 3), In(Uniform, 2, 4, 5)], x => Tensor.MatMul(x[0], x[1], true, false), x => R.MatMul(x[0], x[1], true, false));
        yield return new("matmul_TT_batched", [In(Uniform, 2, 4, 3), In(Uniform, 2, 5, 4)], x => Tensor.MatMul(x[0], x[1], true, true), x => R.MatMul(x[0], x[1], true, true));
        yield return new("matmul_self_gram", [In(Uniform, 4, 3)], x => Tensor.MatMul(x[0], x[0], true, false), x => R.MatMul(x[0], x[0], true, false));

        yield return new("log_softmax", [In(Uniform, 4, 6)], x => (x[0] * 2f).LogSoftmax(), x => R.LogSoftmax(R.Affine(x[0], 2, 0)));
        yield return new("softmax", [In(Uniform, 3, 5)], x => (x[0] * 2f).Softmax(), x => R.Softmax(R.Affine(x[0], 2, 0)));
        yield return new(
            "softmax_cross_entropy",
            [In(Uniform, 5, 4)],
            x => Tensor.SoftmaxCrossEntropy(x[0] * 3f, Labels) * 5f,
            x => R.Affine(R.SoftmaxCrossEntropy(R.Affine(x[0], 3, 0), Labels), 5, 0));

        yield return new(
            "conv2d_stride2_pad1_bias",
            [In(Uniform, 2, 2, 5, 6), In(Uniform, 3, 2, 3, 3), In(Uniform, 3)],
            x => Tensor.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1),
            x => R.Conv2d(x[0], x[1], x[2], 2, 2, 1, 1));
        yield return new(
            "conv2d_same_padding_bias_tanh",
            [In(Uniform, 2, 2, 5, 4), In(Uniform, 3, 2, 3, 3), In(Uniform, 3)],
            x => Tensor.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1).Tanh(),
            x => R.Tanh(R.Conv2d(x[0], x[1], x[2], 1, 1, 1, 1)));
        yield return new("max_pool2d_k2_square", [In(Distinct, 2, 2, 6, 4)], x => x[0].MaxPool2d(2).Square(), x => R.Square(R.MaxPool2d(x[0], 2, 2, 0)));
        yield return new(
            "conv2d_tanh",
            [In(Uniform, 1, 2, 5, 4), In(Uniform, 2, 2, 2, 3)],
            x => Tensor.Conv2d(x[0], x[1], null, (1, 2), (0, 1)).Tanh(),
            x => R.Tanh(R.Conv2d(x[0], x[1], null, 1, 2, 0, 1)));
        yield return new("avg_pool2d_square", [In(Uniform, 2, 2, 5, 6)], x => (x[0].AvgPool2d(3, 2, 1) * 3f).Square(), x => R.Square(R.Affine(R.AvgPool2d(x[0], 3, 2, 1), 3, 0)));
        yield return new("max_pool2d_square", [In(Distinct, 2, 2, 5, 6)], x => x[0].MaxPool2d(3, 2, 1).Square(), x => R.Square(R.MaxPool2d(x[0], 3, 2, 1)));
        yield return new("global_avg_pool2d_tanh", [In(Uniform, 2, 3, 3, 4)], x => (x[0].GlobalAvgPool2d() * 3f).Tanh(), x => R.Tanh(R.Affine(R.GlobalAvgPool2d(x[0]), 3, 0)));

        yield return new(
            "batch_norm_train",
            [In(Uniform, 3, 2, 3, 4), In(Positive, 2), In(Uniform, 2)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true),
            x => R.BatchNormTrain(x[0], x[1], x[2], 1e-5));
        yield return new(
            "batch_norm_add_relu_train_tanh",
            [In(Uniform, 2, 3, 2, 5), In(Positive, 3), In(Uniform, 3), In(Uniform, 2, 3, 2, 5)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true, relu: true, addend: x[3]).Tanh(),
            x => R.Tanh(R.Relu(R.Add(R.BatchNormTrain(x[0], x[1], x[2], 1e-5), x[3]))));
        yield return new(
            "batch_norm_relu_train_tanh",
            [In(Uniform, 2, 3, 2, 5), In(Positive, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true, relu: true).Tanh(),
            x => R.Tanh(R.Relu(R.BatchNormTrain(x[0], x[1], x[2], 1e-5))));
        yield return new(
            "batch_norm_train_tanh",
            [In(Uniform, 2, 3, 2, 5), In(Positive, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true).Tanh(),
            x => R.Tanh(R.BatchNormTrain(x[0], x[1], x[2], 1e-5)));
        yield return new(
            "batch_norm_eval_square",
            [In(Uniform, 2, 3, 3, 3), In(Uniform, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], Tensor.FromArray(RunningMean, 3), Tensor.FromArray(RunningVar, 3), training: false).Square(),
            x => R.Square(R.BatchNormWith(x[0], x[1], x[2], [.. RunningMean.Select(v => (double)v)], [.. RunningVar.Select(v => (double)v)], 1e-5)));

        // Linear shape ops inside a curved function: their backward rules are differentiated again.
        yield return new("max_axis_square", [In(Distinct, 3, 5)], x => x[0].Max(1).Square(), x => R.Square(R.Max(x[0], 1, keepDim: false)));
        yield return new("sum_axes_tanh", [In(Uniform, 3, 4, 2)], x => x[0].Sum([1]).Tanh(), x => R.Tanh(R.Sum(x[0], [1], keepDim: false)));
        yield return new("mean_square", [In(Uniform, 3, 4)], x => x[0].Mean([0], keepDim: true).Square(), x => R.Square(R.Mean(x[0], [0], keepDim: true)));
        yield return new("broadcast_exp", [In(Uniform, 3, 1)], x => x[0].BroadcastTo([2, 3, 4]).Exp(), x => R.Exp(R.BroadcastTo(x[0], [2, 3, 4])));
        yield return new("narrow_square", [In(Uniform, 2, 5)], x => x[0].Narrow(1, 1, 3).Square(), x => R.Square(R.Narrow(x[0], 1, 1, 3)));
        yield return new(
            "concat_sigmoid",
            [In(Uniform, 2, 3), In(Uniform, 2, 2)],
            x => (Tensor.Concat(x, 1) * 2f).Sigmoid(),
            x => R.Sigmoid(R.Affine(R.Concat(x, 1), 2, 0)));
        yield return new("transpose_reshape_mul", [In(Uniform, 3, 4)], x => x[0].Transpose().Reshape(-1) * x[0].Reshape(-1), x => R.Mul(R.Reshape(R.Transpose(x[0]), -1), R.Reshape(x[0], -1)));
    }
}
