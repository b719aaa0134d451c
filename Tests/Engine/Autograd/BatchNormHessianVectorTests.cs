using SparseNet.Engine.Autograd;
using SparseNet.Engine.Tensors;
using R = SparseNet.Tests.Engine.Autograd.DoubleReference;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Hessian-vector product of a small batch-normalised network's loss, conv → batch norm (batch statistics) →
/// relu or tanh → flatten → linear → cross-entropy, with respect to all parameters jointly (what GraSP computes on
/// VGG and ResNet), by double backward, against finite differences of float32 gradients (the fused first-order
/// backward) and against the double reference.
/// </summary>
public class BatchNormHessianVectorTests
{
    private static readonly int[] Labels = [0, 3, 1, 2, 3];

    // conv weight, γ, β, linear weight, linear bias; input [5, 2, 4, 4], 3 channels after the convolution.
    private static readonly int[][] ParamShapes = [[3, 2, 3, 3], [3], [3], [4, 48], [4]];

    private static Tensor PreActivation(Tensor x, Tensor[] p) =>
        Tensor.BatchNorm2d(Tensor.Conv2d(x, p[0], null, stride: 1, padding: 1), p[1], p[2], null, null, training: true);

    private static Tensor Loss(Tensor x, Tensor[] p, bool relu)
    {
        var pre = PreActivation(x, p);
        var h = (relu ? pre.Relu() : pre.Tanh()).Flatten();
        return Tensor.SoftmaxCrossEntropy(Tensor.MatMul(h, p[3], false, true) + p[4], Labels);
    }

    private static RefTensor RefPreActivation(RefTensor x, RefTensor[] p) => R.BatchNormTrain(R.Conv2d(x, p[0], null, 1, 1, 1, 1), p[1], p[2], 1e-5);

    private static RefTensor RefLoss(RefTensor x, RefTensor[] p, bool relu)
    {
        var pre = RefPreActivation(x, p);
        var h = R.Flatten(relu ? R.Relu(pre) : R.Tanh(pre));
        return R.SoftmaxCrossEntropy(R.Add(R.MatMul(h, p[3], false, true), p[4]), Labels);
    }

    private static (RefTensor X, RefTensor[] Theta, RefTensor[] V) Draw(int seed)
    {
        var rng = new Random(seed);
        var x = GradientChecker.Sample(rng, [5, 2, 4, 4], InputKind.Uniform);
        var theta = ParamShapes.Select((s, i) => GradientChecker.Sample(rng, s, i == 1 ? InputKind.Positive : InputKind.Uniform)).ToArray();

        // Smaller linear weights keep the softmax away from saturation, where the curvature would vanish.
        theta[3] = R.Map(theta[3], v => (float)(0.3 * v));
        var v = ParamShapes.Select(s => GradientChecker.Sample(rng, s, InputKind.Uniform)).ToArray();
        return (x, theta, v);
    }

    private static float[][] Gradient(RefTensor x, RefTensor[] theta, bool relu) =>
        HessianVector.Gradient(p => Loss(x.ToTensor(), p, relu), theta);

    private static float[][] DoubleBackwardHvp(RefTensor x, RefTensor[] theta, RefTensor[] v, bool relu) =>
        HessianVector.DoubleBackward(p => Loss(x.ToTensor(), p, relu), theta, v);

    private static RefTensor[] Shift(RefTensor[] theta, RefTensor[] v, double eps) => HessianVector.Shift(theta, v, eps);

    private static bool[] ReluPattern(RefTensor x, RefTensor[] theta) => RefPreActivation(x, theta).Data.Select(d => d > 0).ToArray();

    // Finite differences are only meaningful when every point they visit has θ's relu pattern.
    private static void RequireStablePattern(RefTensor x, RefTensor[] theta, RefTensor[] v, double eps)
    {
        var mask = ReluPattern(x, theta);
        Assert.That(ReluPattern(x, Shift(theta, v, eps)), Is.EqualTo(mask), "θ+εv crosses a relu kink; pick another seed");
        Assert.That(ReluPattern(x, Shift(theta, v, -eps)), Is.EqualTo(mask), "θ−εv crosses a relu kink; pick another seed");
        Assert.That(mask.Count(m => m), Is.InRange(40, mask.Length - 40), "both relu branches should be in use");
    }

    [TestCase(false, 1e-2, 61)]
    [TestCase(true, 1e-3, 62)]
    public void Hvp_matches_finite_difference_of_float_gradients(bool relu, double eps, int seed)
    {
        var (x, theta, v) = Draw(seed);
        if (relu)
        {
            RequireStablePattern(x, theta, v, eps);
        }

        var hv = DoubleBackwardHvp(x, theta, v, relu);
        // A missing second-order term through the batch statistics falls outside the shared tolerance.
        HessianVector.ExpectMatchesCentralDifference(hv, Gradient(x, Shift(theta, v, eps), relu), Gradient(x, Shift(theta, v, -eps), relu), eps);
    }

    [TestCase(false, 71)]
    [TestCase(true, 73)]
    public void Hvp_matches_double_reference(bool relu, int seed)
    {
        var (x, theta, v) = Draw(seed);
        const double eps = 1e-4, h = 1e-4;
        if (relu)
        {
            RequireStablePattern(x, theta, v, 1e-3);
        }

        var hv = DoubleBackwardHvp(x, theta, v, relu);
        double largest = 0;
        for (int i = 0; i < theta.Length; i++)
        {
            // Mixed central differences of the double loss: ∂/∂θⱼ (d/dε L(θ + εv)).
            var numeric = new double[theta[i].Size];
            for (int j = 0; j < numeric.Length; j++)
            {
                double Eval(double e, double d)
                {
                    var p = Shift(theta, v, e);
                    p[i].Data[j] += d;
                    return RefLoss(x, p, relu).Data[0];
                }

                numeric[j] = (Eval(eps, h) - Eval(eps, -h) - Eval(-eps, h) + Eval(-eps, -h)) / (4 * eps * h);
            }

            GradientChecker.ExpectClose($"H·v for parameter {i}", hv[i], numeric, 2e-4, 2e-3);
            largest = Math.Max(largest, numeric.Max(Math.Abs));
        }

        Assert.That(largest, Is.GreaterThan(0.05), "the Hessian-vector product should not be negligible");
    }

    [Test]
    public void Hvp_through_the_batch_statistics_is_not_the_one_with_them_frozen()
    {
        // Against the same network whose batch statistics are held constant: the products differ, so the checks above
        // see the second-order terms that run through the mean and variance.
        var (x, theta, v) = Draw(81);
        var hv = DoubleBackwardHvp(x, theta, v, relu: false);
        var conv = R.Conv2d(x, theta[0], null, 1, 1, 1, 1);
        var (mean, variance) = R.ChannelStatistics(conv);
        double Frozen(RefTensor[] p) =>
            R.SoftmaxCrossEntropy(
                R.Add(R.MatMul(R.Flatten(R.Tanh(R.BatchNormWith(R.Conv2d(x, p[0], null, 1, 1, 1, 1), p[1], p[2], mean, variance, 1e-5))), p[3], false, true), p[4]),
                Labels).Data[0];

        const double eps = 1e-4, h = 1e-4;
        double difference = 0;
        for (int j = 0; j < theta[0].Size; j++)
        {
            double Eval(double e, double d)
            {
                var p = Shift(theta, v, e);
                p[0].Data[j] += d;
                return Frozen(p);
            }

            double frozen = (Eval(eps, h) - Eval(eps, -h) - Eval(-eps, h) + Eval(-eps, -h)) / (4 * eps * h);
            difference = Math.Max(difference, Math.Abs(frozen - hv[0][j]));
        }

        Assert.That(difference, Is.GreaterThan(0.05), "the conv weights' H·v should depend on the batch statistics");
    }
}
