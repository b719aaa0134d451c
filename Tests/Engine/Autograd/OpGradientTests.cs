using SparseNet.Engine.Tensors;
using static SparseNet.Tests.Engine.Autograd.InputKind;
using R = SparseNet.Tests.Engine.Autograd.DoubleReference;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>Forward values and first gradients of every differentiable op against the double reference.</summary>
public class OpGradientTests
{
    private static readonly int[] Labels = [2, 0, 3, 3, 1];

    internal static readonly float[] RunningMean = [0.25f, -0.5f, 0.125f];
    internal static readonly float[] RunningVar = [0.5f, 2f, 1.25f];

    public static IEnumerable<TestCaseData> Cases() => AllCases().Select(c => new TestCaseData(c).SetName($"FirstOrder_{c.Name}"));

    [TestCaseSource(nameof(Cases))]
    public void Forward_and_gradient_match_double_reference(OpCase c)
    {
        var rng = new Random(c.Seed);
        GradientChecker.CheckFirstOrder(c.Engine, c.Reference, GradientChecker.SampleAll(rng, c.Inputs), rng);
    }

    [Test]
    public void Case_names_are_unique() =>
        Assert.That(AllCases().Select(c => c.Name), Is.Unique);

    internal static (int[], InputKind) In(InputKind kind, params int[] shape) => (shape, kind);

    internal static IEnumerable<OpCase> AllCases()
    {
        // Broadcasting elementwise arithmetic.
        yield return new("add_same", [In(Uniform, 3, 4), In(Uniform, 3, 4)], x => x[0] + x[1], x => R.Add(x[0], x[1]));
        yield return new("add_3x1x5_4x5", [In(Uniform, 3, 1, 5), In(Uniform, 4, 5)], x => x[0] + x[1], x => R.Add(x[0], x[1]));
        yield return new("add_scalar_2x3", [In(Uniform), In(Uniform, 2, 3)], x => x[0] + x[1], x => R.Add(x[0], x[1]));
        yield return new("add_row_bias", [In(Uniform, 4, 3, 5), In(Uniform, 1, 5)], x => x[0] + x[1], x => R.Add(x[0], x[1]));
        yield return new("sub_2x3x4_3x1", [In(Uniform, 2, 3, 4), In(Uniform, 3, 1)], x => x[0] - x[1], x => R.Sub(x[0], x[1]));
        yield return new("sub_5_4x5", [In(Uniform, 5), In(Uniform, 4, 5)], x => x[0] - x[1], x => R.Sub(x[0], x[1]));
        yield return new("mul_2x3_3", [In(Uniform, 2, 3), In(Uniform, 3)], x => x[0] * x[1], x => R.Mul(x[0], x[1]));
        yield return new("mul_3x1x5_4x1", [In(Uniform, 3, 1, 5), In(Uniform, 4, 1)], x => x[0] * x[1], x => R.Mul(x[0], x[1]));
        yield return new("mul_same_input_twice", [In(Uniform, 3, 5)], x => x[0] * x[0], x => R.Mul(x[0], x[0]));
        yield return new("div_2x3x4_4", [In(Uniform, 2, 3, 4), In(AwayFromZero, 4)], x => x[0] / x[1], x => R.Div(x[0], x[1]));
        yield return new("div_scalar_3x2", [In(Uniform), In(Positive, 3, 2)], x => x[0] / x[1], x => R.Div(x[0], x[1]));
        yield return new("div_3x1_by_1x4", [In(Uniform, 3, 1), In(Positive, 1, 4)], x => x[0] / x[1], x => R.Div(x[0], x[1]));

        // Scalar affine maps and the operators built on them.
        yield return new("affine", [In(Uniform, 3, 5)], x => x[0].Affine(1.7f, -0.3f), x => R.Affine(x[0], 1.7f, -0.3f));
        yield return new("scalar_minus_tensor", [In(Uniform, 2, 7)], x => 2.5f - x[0], x => R.Affine(x[0], -1, 2.5));
        yield return new("tensor_div_scalar", [In(Uniform, 7)], x => x[0] / 4f, x => R.Affine(x[0], 1f / 4f, 0));

        // Unary ops.
        yield return new("pow_2_5", [In(Positive, 4, 3)], x => x[0].Pow(2.5f), x => R.Pow(x[0], 2.5));
        yield return new("pow_minus_1_5", [In(Positive, 5, 2)], x => x[0].Pow(-1.5f), x => R.Pow(x[0], -1.5));
        yield return new("pow_3_signed", [In(Uniform, 3, 3)], x => x[0].Pow(3f), x => R.Pow(x[0], 3));
        yield return new("neg", [In(Uniform, 3, 4)], x => -x[0], x => R.Neg(x[0]));
        yield return new("exp", [In(Uniform, 3, 5)], x => x[0].Exp(), x => R.Exp(x[0]));
        yield return new("log", [In(Positive, 5, 3)], x => x[0].Log(), x => R.Log(x[0]));
        yield return new("relu", [In(AwayFromZero, 4, 7)], x => x[0].Relu(), x => R.Relu(x[0]));
        yield return new("tanh", [In(Uniform, 3, 7)], x => (x[0] * 2f).Tanh(), x => R.Tanh(R.Affine(x[0], 2, 0)));
        yield return new("sigmoid", [In(Uniform, 3, 7)], x => (x[0] * 3f).Sigmoid(), x => R.Sigmoid(R.Affine(x[0], 3, 0)));
        yield return new("sqrt", [In(Positive, 6, 2)], x => x[0].Sqrt(), x => R.Sqrt(x[0]));
        yield return new("square", [In(Uniform, 2, 9)], x => x[0].Square(), x => R.Square(x[0]));
        yield return new("abs", [In(AwayFromZero, 5, 5)], x => x[0].Abs(), x => R.Abs(x[0]));

        // Shape ops and reductions.
        yield return new("reshape", [In(Uniform, 2, 3, 4)], x => x[0].Reshape(4, -1), x => R.Reshape(x[0], 4, -1));
        yield return new("flatten", [In(Uniform, 2, 3, 2, 5)], x => x[0].Flatten(), x => R.Flatten(x[0]));
        yield return new("transpose_3x5", [In(Uniform, 3, 5)], x => x[0].Transpose(), x => R.Transpose(x[0]));
        yield return new("transpose_2x3x4", [In(Uniform, 2, 3, 4)], x => x[0].Transpose(), x => R.Transpose(x[0]));
        yield return new("sum_to_4x1", [In(Uniform, 3, 4, 5)], x => x[0].SumTo([4, 1]), x => R.SumTo(x[0], [4, 1]));
        yield return new("sum_to_3x1x5", [In(Uniform, 3, 4, 5)], x => x[0].SumTo([3, 1, 5]), x => R.SumTo(x[0], [3, 1, 5]));
        yield return new("sum_to_5", [In(Uniform, 3, 4, 5)], x => x[0].SumTo([5]), x => R.SumTo(x[0], [5]));
        yield return new("sum_all", [In(Uniform, 3, 4, 5)], x => x[0].Sum(), x => R.SumAll(x[0]));
        yield return new("sum_axes_0_2", [In(Uniform, 3, 4, 5)], x => x[0].Sum([0, 2]), x => R.Sum(x[0], [0, 2], keepDim: false));
        yield return new("sum_axis_1_keep", [In(Uniform, 3, 4, 5)], x => x[0].Sum([1], keepDim: true), x => R.Sum(x[0], [1], keepDim: true));
        yield return new("mean_all", [In(Uniform, 3, 7)], x => x[0].Mean(), x => R.MeanAll(x[0]));
        yield return new("mean_axis_last", [In(Uniform, 3, 4, 5)], x => x[0].Mean([-1]), x => R.Mean(x[0], [-1], keepDim: false));
        yield return new("broadcast_to_3x1", [In(Uniform, 3, 1)], x => x[0].BroadcastTo([2, 3, 4]), x => R.BroadcastTo(x[0], [2, 3, 4]));
        yield return new("broadcast_to_scalar", [In(Uniform)], x => x[0].BroadcastTo([2, 3]), x => R.BroadcastTo(x[0], [2, 3]));
        yield return new("broadcast_to_suffix", [In(Uniform, 5)], x => x[0].BroadcastTo([3, 5]), x => R.BroadcastTo(x[0], [3, 5]));
        yield return new("max_axis_1", [In(Distinct, 3, 5, 2)], x => x[0].Max(1), x => R.Max(x[0], 1, keepDim: false));
        yield return new("max_axis_last_keep", [In(Distinct, 4, 7)], x => x[0].Max(-1, keepDim: true), x => R.Max(x[0], -1, keepDim: true));
        yield return new("max_axis_0", [In(Distinct, 6, 3)], x => x[0].Max(0), x => R.Max(x[0], 0, keepDim: false));
        yield return new("narrow", [In(Uniform, 2, 5, 3)], x => x[0].Narrow(1, 1, 3), x => R.Narrow(x[0], 1, 1, 3));
        yield return new("narrow_last", [In(Uniform, 3, 7)], x => x[0].Narrow(-1, 4, 3), x => R.Narrow(x[0], 1, 4, 3));
        yield return new("pad", [In(Uniform, 3, 4)], x => x[0].PadAlong(0, 2, 6), x => R.Pad(x[0], 0, 2, 6));
        yield return new("pad_middle", [In(Uniform, 2, 3, 2)], x => x[0].PadAlong(1, 1, 5), x => R.Pad(x[0], 1, 1, 5));
        yield return new(
            "concat_axis_1",
            [In(Uniform, 2, 3), In(Uniform, 2, 1), In(Uniform, 2, 4)],
            x => Tensor.Concat(x, 1),
            x => R.Concat(x, 1));
        yield return new(
            "concat_axis_0",
            [In(Uniform, 1, 3, 2), In(Uniform, 3, 3, 2)],
            x => Tensor.Concat(x, 0),
            x => R.Concat(x, 0));

        // Matrix products: all transpose combinations, plain and batched.
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                int[] a2 = ta ? [4, 3] : [3, 4], b2 = tb ? [5, 4] : [4, 5];
                int[] a3 = ta ? [2, 4, 3] : [2, 3, 4], b3 = tb ? [2, 5, 4] : [2, 4, 5];
                bool tA = ta, tB = tb;
                string suffix = $"{(ta ? "T" : "N")}{(tb ? "T" : "N")}";
                yield return new($"matmul_{suffix}", [In(Uniform, a2), In(Uniform, b2)], x => Tensor.MatMul(x[0], x[1], tA, tB), x => R.MatMul(x[0], x[1], tA, tB));
                yield return new($"matmul_batched_{suffix}", [In(Uniform, a3), In(Uniform, b3)], x => Tensor.MatMul(x[0], x[1], tA, tB), x => R.MatMul(x[0], x[1], tA, tB));
            }
        }

        // Softmax family.
        yield return new("log_softmax", [In(Uniform, 4, 7)], x => (x[0] * 3f).LogSoftmax(), x => R.LogSoftmax(R.Affine(x[0], 3, 0)));
        yield return new("log_softmax_rank3", [In(Uniform, 2, 3, 5)], x => x[0].LogSoftmax(), x => R.LogSoftmax(x[0]));
        yield return new("softmax", [In(Uniform, 4, 7)], x => (x[0] * 3f).Softmax(), x => R.Softmax(R.Affine(x[0], 3, 0)));
        yield return new(
            "softmax_cross_entropy",
            [In(Uniform, 5, 4)],
            x => Tensor.SoftmaxCrossEntropy(x[0] * 3f, Labels),
            x => R.SoftmaxCrossEntropy(R.Affine(x[0], 3, 0), Labels));

        // Convolution and pooling.
        yield return new(
            "conv2d_plain",
            [In(Uniform, 2, 3, 6, 5), In(Uniform, 4, 3, 3, 2)],
            x => Tensor.Conv2d(x[0], x[1]),
            x => R.Conv2d(x[0], x[1], null, 1, 1, 0, 0));
        yield return new(
            "conv2d_stride2_pad1_bias",
            [In(Uniform, 2, 3, 7, 6), In(Uniform, 4, 3, 3, 3), In(Uniform, 4)],
            x => Tensor.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1),
            x => R.Conv2d(x[0], x[1], x[2], 2, 2, 1, 1));
        yield return new(
            "conv2d_asymmetric_bias",
            [In(Uniform, 1, 2, 7, 5), In(Uniform, 3, 2, 2, 3), In(Uniform, 3)],
            x => Tensor.Conv2d(x[0], x[1], x[2], (2, 1), (1, 0)),
            x => R.Conv2d(x[0], x[1], x[2], 2, 1, 1, 0));
        yield return new(
            "conv2d_same_padding_bias",
            [In(Uniform, 2, 3, 6, 5), In(Uniform, 4, 3, 3, 3), In(Uniform, 4)],
            x => Tensor.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1),
            x => R.Conv2d(x[0], x[1], x[2], 1, 1, 1, 1));
        yield return new("max_pool2d_k2", [In(Distinct, 2, 3, 6, 5)], x => x[0].MaxPool2d(2), x => R.MaxPool2d(x[0], 2, 2, 0));
        yield return new("max_pool2d_k3_s2_p1", [In(Distinct, 2, 2, 7, 6)], x => x[0].MaxPool2d(3, 2, 1), x => R.MaxPool2d(x[0], 3, 2, 1));
        yield return new("max_pool2d_overlap", [In(Distinct, 1, 2, 5, 5)], x => x[0].MaxPool2d(3, 1), x => R.MaxPool2d(x[0], 3, 1, 0));
        yield return new("avg_pool2d_k2", [In(Uniform, 2, 3, 6, 5)], x => x[0].AvgPool2d(2), x => R.AvgPool2d(x[0], 2, 2, 0));
        yield return new("avg_pool2d_k3_s2_p1", [In(Uniform, 2, 2, 7, 6)], x => x[0].AvgPool2d(3, 2, 1), x => R.AvgPool2d(x[0], 3, 2, 1));
        yield return new("global_avg_pool2d", [In(Uniform, 2, 3, 4, 5)], x => x[0].GlobalAvgPool2d(), x => R.GlobalAvgPool2d(x[0]));

        // Batch normalisation: with batch statistics the gradients run through them; with running statistics the op
        // is an affine map per channel. Planes of 15 and 35 values reach the vector loops and their scalar tails.
        yield return new(
            "batch_norm_train",
            [In(Uniform, 3, 4, 3, 5), In(Positive, 4), In(Uniform, 4)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true),
            x => R.BatchNormTrain(x[0], x[1], x[2], 1e-5));
        yield return new(
            "batch_norm_train_running_stats",
            [In(Uniform, 2, 3, 5, 7), In(Uniform, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], Tensor.Zeros(3), Tensor.Ones(3), training: true, momentum: 0.3f, eps: 1e-3f),
            x => R.BatchNormTrain(x[0], x[1], x[2], 1e-3));
        yield return new(
            "batch_norm_train_1x1_planes",
            [In(Uniform, 6, 2, 1, 1), In(Positive, 2), In(Uniform, 2)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true),
            x => R.BatchNormTrain(x[0], x[1], x[2], 1e-5));
        yield return new(
            "batch_norm_eval",
            [In(Uniform, 2, 3, 4, 5), In(Uniform, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], Tensor.FromArray(RunningMean, 3), Tensor.FromArray(RunningVar, 3), training: false),
            x => R.BatchNormWith(x[0], x[1], x[2], [.. RunningMean.Select(v => (double)v)], [.. RunningVar.Select(v => (double)v)], 1e-5));
        yield return new(
            "conv2d_relu",
            [In(Uniform, 2, 3, 5, 4), In(Uniform, 4, 3, 3, 3), In(Uniform, 4)],
            x => Tensor.Conv2d(x[0], x[1], x[2], (1, 1), (1, 1), relu: true),
            x => R.Relu(R.Conv2d(x[0], x[1], x[2], 1, 1, 1, 1)));
        yield return new(
            "batch_norm_add_relu_train",
            [In(Uniform, 3, 4, 3, 5), In(Positive, 4), In(Uniform, 4), In(Uniform, 3, 4, 3, 5)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true, relu: true, addend: x[3]),
            x => R.Relu(R.Add(R.BatchNormTrain(x[0], x[1], x[2], 1e-5), x[3])));
        yield return new(
            "batch_norm_relu_train",
            [In(Uniform, 3, 4, 3, 5), In(Positive, 4), In(Uniform, 4)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], null, null, training: true, relu: true),
            x => R.Relu(R.BatchNormTrain(x[0], x[1], x[2], 1e-5)));
        yield return new(
            "batch_norm_relu_eval",
            [In(Uniform, 2, 3, 4, 5), In(Uniform, 3), In(Uniform, 3)],
            x => Tensor.BatchNorm2d(x[0], x[1], x[2], Tensor.FromArray(RunningMean, 3), Tensor.FromArray(RunningVar, 3), training: false, relu: true),
            x => R.Relu(R.BatchNormWith(x[0], x[1], x[2], [.. RunningMean.Select(v => (double)v)], [.. RunningVar.Select(v => (double)v)], 1e-5)));
    }
}
