using SparseNet.Engine.Tensors;
using SparseNet.Engine.Autograd;
using R = SparseNet.Tests.Engine.Autograd.DoubleReference;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Hessian-vector product of a small MLP's cross-entropy loss with respect to all parameters jointly
/// (the quantity GraSP needs), by double backward, against finite differences of float32 gradients
/// and against the double reference.
/// </summary>
public class MlpHessianVectorTests
{
    private static readonly int[] Labels = [0, 2, 1, 1, 0, 2, 2, 1];
    private static readonly int[][] ParamShapes = [[7, 5], [7], [3, 7], [3]];

    private static Tensor Loss(Tensor x, Tensor[] p, bool relu)
    {
        var pre = Tensor.MatMul(x, p[0], false, true) + p[1];
        var h = relu ? pre.Relu() : pre.Tanh();
        var logits = Tensor.MatMul(h, p[2], false, true) + p[3];
        return Tensor.SoftmaxCrossEntropy(logits, Labels);
    }

    private static RefTensor RefLoss(RefTensor x, RefTensor[] p, bool relu)
    {
        var pre = R.Add(R.MatMul(x, p[0], false, true), p[1]);
        var h = relu ? R.Relu(pre) : R.Tanh(pre);
        var logits = R.Add(R.MatMul(h, p[2], false, true), p[3]);
        return R.SoftmaxCrossEntropy(logits, Labels);
    }

    private static (RefTensor X, RefTensor[] Theta, RefTensor[] V) Draw(int seed)
    {
        var rng = new Random(seed);
        var x = GradientChecker.Sample(rng, [8, 5], InputKind.Uniform);
        var theta = ParamShapes.Select(s => GradientChecker.Sample(rng, s, InputKind.Uniform)).ToArray();
        var v = ParamShapes.Select(s => GradientChecker.Sample(rng, s, InputKind.Uniform)).ToArray();
        return (x, theta, v);
    }

    private static float[][] Gradient(RefTensor x, RefTensor[] theta, bool relu) =>
        HessianVector.Gradient(p => Loss(x.ToTensor(), p, relu), theta);

    private static float[][] DoubleBackwardHvp(RefTensor x, RefTensor[] theta, RefTensor[] v, bool relu) =>
        HessianVector.DoubleBackward(p => Loss(x.ToTensor(), p, relu), theta, v);

    private static RefTensor[] Shift(RefTensor[] theta, RefTensor[] v, double eps) => HessianVector.Shift(theta, v, eps);

    [TestCase(false, 1e-2, 11)]
    [TestCase(true, 1e-3, 12)]
    public void Hvp_matches_finite_difference_of_float_gradients(bool relu, double eps, int seed)
    {
        var (x, theta, v) = Draw(seed);
        var hv = DoubleBackwardHvp(x, theta, v, relu);

        var plus = Shift(theta, v, eps);
        var minus = Shift(theta, v, -eps);
        if (relu)
        {
            // Finite differences are only meaningful when θ ± εv stay in θ's linear region of every relu.
            var mask = ReluPattern(x, theta);
            Assert.That(ReluPattern(x, plus), Is.EqualTo(mask), "θ+εv crosses a relu kink; pick another seed");
            Assert.That(ReluPattern(x, minus), Is.EqualTo(mask), "θ−εv crosses a relu kink; pick another seed");
            Assert.That(mask.Count(m => m), Is.InRange(10, mask.Length - 10), "both relu branches should be in use");
        }

        // Rounding θ ± εv to float moves each coordinate by at most 6e-8·|θ|, a relative change of ≤ 1e-4 in the step.
        HessianVector.ExpectMatchesCentralDifference(hv, Gradient(x, plus, relu), Gradient(x, minus, relu), eps);
    }

    [TestCase(false, 21)]
    [TestCase(true, 22)]
    public void Hvp_matches_double_reference(bool relu, int seed)
    {
        var (x, theta, v) = Draw(seed);
        var hv = DoubleBackwardHvp(x, theta, v, relu);

        // Mixed central differences of the double reference loss: ∂/∂θⱼ (d/dε L(θ + εv)).
        const double eps = 1e-4, h = 1e-4;
        for (int i = 0; i < theta.Length; i++)
        {
            var numeric = new double[theta[i].Size];
            for (int j = 0; j < numeric.Length; j++)
            {
                double Eval(double e, double d)
                {
                    var p = theta.Select((t, k) =>
                    {
                        var s = t.Copy();
                        for (int q = 0; q < s.Size; q++)
                        {
                            s.Data[q] += e * v[k].Data[q];
                        }

                        return s;
                    }).ToArray();
                    p[i].Data[j] += d;
                    return RefLoss(x, p, relu).Data[0];
                }

                numeric[j] = (Eval(eps, h) - Eval(eps, -h) - Eval(-eps, h) + Eval(-eps, -h)) / (4 * eps * h);
            }

            GradientChecker.ExpectClose($"H·v for parameter {i}", hv[i], numeric, 1e-4, 1e-3);
        }
    }

    [Test]
    public void Hvp_is_linear_in_the_direction()
    {
        var (x, theta, v) = Draw(31);
        var w = ParamShapes.Select(s => GradientChecker.Sample(new Random(32), s, InputKind.Uniform)).ToArray();
        var combo = v.Select((t, i) => R.Add(R.Affine(t, 2, 0), R.Affine(w[i], -0.5, 0))).ToArray();
        var hvV = DoubleBackwardHvp(x, theta, v, relu: false);
        var hvW = DoubleBackwardHvp(x, theta, w, relu: false);
        var hvCombo = DoubleBackwardHvp(x, theta, combo, relu: false);
        for (int i = 0; i < theta.Length; i++)
        {
            var expected = hvV[i].Select((a, j) => (2.0 * a) - (0.5 * hvW[i][j])).ToArray();
            GradientChecker.ExpectClose($"H(2v − w/2) for parameter {i}", hvCombo[i], expected, 1e-5, 1e-4);
        }
    }

    private static bool[] ReluPattern(RefTensor x, RefTensor[] theta)
    {
        var pre = R.Add(R.MatMul(x, theta[0], false, true), theta[1]);
        return pre.Data.Select(d => d > 0).ToArray();
    }
}
