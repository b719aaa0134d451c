using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Nn;

public class OptimizerTests
{
    private static Parameter Param(params float[] values) => new(Tensor.FromArray(values, values.Length));

    [Test]
    public void Adam_MatchesTheFormula_OverSeveralSteps()
    {
        var p = Param(1f, -2f, 0.5f);
        var adam = new Adam([p], learningRate: 0.01f, beta1: 0.9f, beta2: 0.999f, eps: 1e-8f, weightDecay: 0.1f);
        double[] theta = [1, -2, 0.5], m = new double[3], v = new double[3];
        double[][] grads = [[0.3, -0.1, 2.0], [-0.2, 0.4, 1.0], [0.05, 0.0, -3.0]];
        for (int t = 1; t <= grads.Length; t++)
        {
            p.Grad = Tensor.FromArray(grads[t - 1].Select(g => (float)g).ToArray(), 3);
            adam.Step();
            for (int i = 0; i < 3; i++)
            {
                double g = grads[t - 1][i] + (0.1 * theta[i]);
                m[i] = (0.9 * m[i]) + (0.1 * g);
                v[i] = (0.999 * v[i]) + (0.001 * g * g);
                double mHat = m[i] / (1 - Math.Pow(0.9, t)), vHat = v[i] / (1 - Math.Pow(0.999, t));
                theta[i] -= 0.01 * mHat / (Math.Sqrt(vHat) + 1e-8);
            }

            Assert.That(p.Value.ToArray(), Is.EqualTo(theta.Select(x => (float)x).ToArray()).Within(1e-5));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Sgd_MomentumAndNesterov_MatchTheFormula(bool nesterov)
    {
        var p = Param(1f, -1f);
        var sgd = new Sgd([p], learningRate: 0.1f, momentum: 0.9f, nesterov: nesterov, weightDecay: 0.01f);
        double[] theta = [1, -1], buf = new double[2];
        double[][] grads = [[0.5, -0.5], [0.25, 1.0], [-1.0, 0.0]];
        for (int t = 0; t < grads.Length; t++)
        {
            p.Grad = Tensor.FromArray(grads[t].Select(g => (float)g).ToArray(), 2);
            sgd.Step();
            for (int i = 0; i < 2; i++)
            {
                double g = grads[t][i] + (0.01 * theta[i]);
                buf[i] = t == 0 ? g : (0.9 * buf[i]) + g;
                theta[i] -= 0.1 * (nesterov ? g + (0.9 * buf[i]) : buf[i]);
            }

            Assert.That(p.Value.ToArray(), Is.EqualTo(theta.Select(x => (float)x).ToArray()).Within(1e-6));
        }
    }

    [Test]
    public void Optimizers_SkipParametersWithoutGradient()
    {
        var p = Param(1f, 2f);
        new Adam([p]).Step();
        new Sgd([p], 0.1f, 0.9f).Step();
        Assert.That(p.Value.ToArray(), Is.EqualTo(new[] { 1f, 2f }));
    }

    [Test]
    public void Schedules_StepMultiStepAndWarmup()
    {
        var multi = new LearningRateSchedule(1f, [10, 20], 0.5f);
        Assert.That(new[] { multi.RateAt(0), multi.RateAt(9), multi.RateAt(10), multi.RateAt(19), multi.RateAt(20) }, Is.EqualTo(new[] { 1f, 1f, 0.5f, 0.5f, 0.25f }));
        var step = LearningRateSchedule.Step(2f, 5, 0.1f, 12);
        Assert.That(step.Milestones, Is.EqualTo(new[] { 5, 10 }));
        var warm = new LearningRateSchedule(1f, warmupIterations: 4);
        Assert.That(new[] { warm.RateAt(0), warm.RateAt(1), warm.RateAt(3), warm.RateAt(4) }, Is.EqualTo(new[] { 0.25f, 0.5f, 1f, 1f }));
        Assert.Throws<ArgumentException>(() => _ = new LearningRateSchedule(1f, [10, 5]));
    }

    [Test]
    public void BadHyperparameters_AreRejectedWithTheirValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new Sgd([Param(1f)], 0.1f, momentum: 1.5f));
        Assert.That(ex!.Message, Does.Contain("1.5"));
        Assert.Throws<ArgumentException>(() => _ = new Adam([Param(1f)], learningRate: -1f));
        Assert.Throws<ArgumentException>(() => _ = new Sgd([Param(1f)], 0.1f, nesterov: true));
    }
}
