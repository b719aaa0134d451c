using SparseNet.Engine.Tensors;
using SparseNet.Engine.Autograd;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Checks an engine op against its double-precision reference: the forward values, the first
/// gradient (reverse mode vs. central differences of the reference in double) and the
/// Hessian-vector product obtained by double backward (vs. mixed central differences in double).
/// </summary>
public static class GradientChecker
{
    public const double ForwardAtol = 1e-5;
    public const double ForwardRtol = 1e-4;
    public const double GradAtol = 1e-3;
    public const double GradRtol = 1e-3;
    public const double HvpAtol = 2e-3;
    public const double HvpRtol = 2e-3;

    /// <summary>Draws values already rounded to float32, so engine and reference see identical inputs.</summary>
    public static RefTensor Sample(Random rng, int[] shape, InputKind kind)
    {
        var t = RefTensor.Zeros(shape);
        int n = t.Size;
        for (int i = 0; i < n; i++)
        {
            double v = kind switch
            {
                InputKind.Uniform => (rng.NextDouble() * 2) - 1,
                InputKind.Positive => 0.5 + (rng.NextDouble() * 1.5),
                InputKind.AwayFromZero => (0.1 + (rng.NextDouble() * 0.9)) * (rng.Next(2) == 0 ? -1 : 1),
                InputKind.Distinct => -1 + ((i + 0.5) * 2.0 / n),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
            t.Data[i] = (float)v;
        }

        if (kind == InputKind.Distinct)
        {
            rng.Shuffle(t.Data);
        }

        return t;
    }

    public static RefTensor[] SampleAll(Random rng, (int[] Shape, InputKind Kind)[] specs) =>
        specs.Select(s => Sample(rng, s.Shape, s.Kind)).ToArray();

    /// <summary>Σ r·f(x) in double.</summary>
    public static double Contract(RefTensor y, RefTensor r)
    {
        double s = 0;
        for (int i = 0; i < y.Size; i++)
        {
            s += y.Data[i] * r.Data[i];
        }

        return s;
    }

    /// <summary>Forward values and first gradients of <paramref name="op"/> against <paramref name="reference"/>.</summary>
    public static void CheckFirstOrder(
        Func<Tensor[], Tensor> op, Func<RefTensor[], RefTensor> reference, RefTensor[] inputs, Random rng, double h = 1e-6)
    {
        var xs = inputs.Select(x => x.ToTensor(requiresGrad: true)).ToArray();
        var y = op(xs);
        var yRef = reference(inputs);
        Assert.That(y.Shape, Is.EqualTo(yRef.Shape), "forward shape");
        ExpectClose("forward", y.ToArray(), yRef.Data, ForwardAtol, ForwardRtol);

        var r = Sample(rng, yRef.Shape, InputKind.Uniform);
        Gradients.Backward(y, r.ToTensor());
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.That(xs[i].Grad, Is.Not.Null, $"input {i} got no gradient");
            Assert.That(xs[i].Grad!.Shape, Is.EqualTo(inputs[i].Shape), $"gradient shape of input {i}");
            var numeric = NumericGradient(reference, inputs, r, i, h);
            ExpectClose($"gradient of input {i}", xs[i].Grad!.ToArray(), numeric, GradAtol, GradRtol);
        }
    }

    /// <summary>
    /// Hessian-vector product of L(x) = Σ r·f(x) over all inputs jointly, by double backward, against
    /// [L(x+εv+h·e) − L(x+εv−h·e) − L(x−εv+h·e) + L(x−εv−h·e)] / 4εh on the reference in double.
    /// </summary>
    public static void CheckHessianVector(
        Func<Tensor[], Tensor> op, Func<RefTensor[], RefTensor> reference, RefTensor[] inputs, Random rng, double eps = 1e-4, double h = 1e-4)
    {
        var xs = inputs.Select(x => x.ToTensor(requiresGrad: true)).ToArray();
        var y = op(xs);
        var r = Sample(rng, y.Shape, InputKind.Uniform);
        var v = inputs.Select(x => Sample(rng, x.Shape, InputKind.Uniform)).ToArray();

        var loss = (y * r.ToTensor()).Sum();
        var grads = Gradients.Grad([loss], xs, createGraph: true);
        Tensor? dot = null;
        for (int i = 0; i < xs.Length; i++)
        {
            var term = (grads[i]! * v[i].ToTensor()).Sum();
            dot = dot is null ? term : dot + term;
        }

        Assert.That(dot!.RequiresGrad, Is.True, "the gradient should depend on the inputs (createGraph)");
        var hv = Gradients.Grad([dot], xs, allowUnused: true);

        // Both the first gradient and the product of the recorded graph must agree with the reference.
        for (int i = 0; i < xs.Length; i++)
        {
            ExpectClose($"first gradient of input {i}", grads[i]!.ToArray(), NumericGradient(reference, inputs, r, i, 1e-6), GradAtol, GradRtol);
        }

        var plus = Shift(inputs, v, eps);
        var minus = Shift(inputs, v, -eps);
        double largest = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            var numeric = new double[inputs[i].Size];
            for (int j = 0; j < numeric.Length; j++)
            {
                double dPlus = CentralDifference(reference, plus, r, i, j, h);
                double dMinus = CentralDifference(reference, minus, r, i, j, h);
                numeric[j] = (dPlus - dMinus) / (2 * eps);
            }

            float[] analytic = hv[i]?.ToArray() ?? new float[numeric.Length];
            ExpectClose($"Hessian-vector product for input {i}", analytic, numeric, HvpAtol, HvpRtol);
            largest = Math.Max(largest, numeric.Max(Math.Abs));
        }

        // A product this small would let a missing second-order term hide inside the tolerance.
        Assert.That(largest, Is.GreaterThan(50 * HvpAtol), "the case has too little curvature to test anything");
    }

    /// <summary>The Hessian-vector check of one case, on inputs drawn from its seed.</summary>
    public static void CheckHessianVector(OpCase c)
    {
        var rng = new Random(c.Seed);
        CheckHessianVector(c.Engine, c.Reference, SampleAll(rng, c.Inputs), rng);
    }

    /// <summary>Central differences of Σ r·ref(x) with respect to input <paramref name="which"/>, in double.</summary>
    public static double[] NumericGradient(Func<RefTensor[], RefTensor> reference, RefTensor[] inputs, RefTensor r, int which, double h)
    {
        var work = inputs.Select(x => x.Copy()).ToArray();
        var g = new double[work[which].Size];
        for (int j = 0; j < g.Length; j++)
        {
            g[j] = CentralDifference(reference, work, r, which, j, h);
        }

        return g;
    }

    private static double CentralDifference(Func<RefTensor[], RefTensor> reference, RefTensor[] work, RefTensor r, int which, int j, double h)
    {
        double saved = work[which].Data[j];
        work[which].Data[j] = saved + h;
        double up = Contract(reference(work), r);
        work[which].Data[j] = saved - h;
        double down = Contract(reference(work), r);
        work[which].Data[j] = saved;
        return (up - down) / (2 * h);
    }

    private static RefTensor[] Shift(RefTensor[] inputs, RefTensor[] v, double eps)
    {
        var shifted = inputs.Select(x => x.Copy()).ToArray();
        for (int i = 0; i < shifted.Length; i++)
        {
            for (int j = 0; j < shifted[i].Size; j++)
            {
                shifted[i].Data[j] += eps * v[i].Data[j];
            }
        }

        return shifted;
    }

    /// <summary>Requires |actual − expected| ≤ atol + rtol·|expected| element-wise, listing the first offenders.</summary>
    public static void ExpectClose(string what, IReadOnlyList<float> actual, IReadOnlyList<double> expected, double atol, double rtol)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), $"{what}: element count");
        var bad = new List<string>();
        double worst = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double allowed = atol + (rtol * Math.Abs(expected[i]));
            worst = Math.Max(worst, err / allowed);
            if (!(err <= allowed) && bad.Count < 8)
            {
                bad.Add($"[{i}] got {actual[i]:G9}, expected {expected[i]:G9}");
            }
        }

        Assert.That(bad, Is.Empty, $"{what}: worst error/allowed = {worst:G3}");
    }

    public static void ExpectClose(string what, IReadOnlyList<float> actual, IReadOnlyList<float> expected, double atol, double rtol) =>
        ExpectClose(what, actual, expected.Select(v => (double)v).ToArray(), atol, rtol);
}
