using SparseNet.Engine.Autograd;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>What the Hessian-vector tests share: gradients of a loss of parameters θ, and H·v by double backward.</summary>
internal static class HessianVector
{
    /// <summary>θ as fresh leaf tensors that require gradients.</summary>
    public static Tensor[] Params(IEnumerable<RefTensor> theta) => theta.Select(t => t.ToTensor(requiresGrad: true)).ToArray();

    /// <summary>∇L(θ) in float32 by ordinary backward.</summary>
    public static float[][] Gradient(Func<Tensor[], Tensor> loss, RefTensor[] theta)
    {
        var p = Params(theta);
        var g = Gradients.Grad([loss(p)], p);
        return g.Select(t => t!.ToArray()).ToArray();
    }

    /// <summary>H·v by double backward, ∇θ ⟨∇θ L, v⟩; checks that neither pass writes a parameter's <c>Grad</c>.</summary>
    public static float[][] DoubleBackward(Func<Tensor[], Tensor> loss, RefTensor[] theta, RefTensor[] v)
    {
        var p = Params(theta);
        var g = Gradients.Grad([loss(p)], p, createGraph: true);
        Tensor dot = (g[0]! * v[0].ToTensor()).Sum();
        for (int i = 1; i < p.Length; i++)
        {
            dot = dot + (g[i]! * v[i].ToTensor()).Sum();
        }

        var hv = Gradients.Grad([dot], p, allowUnused: true);
        for (int i = 0; i < p.Length; i++)
        {
            Assert.That(p[i].Grad, Is.Null, "Gradients.Grad must not write .Grad");
        }

        return hv.Select((t, i) => t?.ToArray() ?? new float[theta[i].Size]).ToArray();
    }

    /// <summary>
    /// Compares H·v with the central difference (∇L(θ+εv) − ∇L(θ−εv)) / 2ε of float gradients, parameter by parameter,
    /// within the tests' shared tolerance, and checks the product is not negligible. Float32 gradients carry ~1e-7
    /// relative error, ≤ 1e-4 absolute once divided by 2ε; the truncation error is O(ε²·‖∇³L‖) ≲ 1e-4; the tolerance
    /// leaves an order of magnitude above both while a missing second-order term (O(0.1)) still fails.
    /// </summary>
    public static void ExpectMatchesCentralDifference(float[][] hv, float[][] gPlus, float[][] gMinus, double eps)
    {
        double largest = 0;
        for (int i = 0; i < hv.Length; i++)
        {
            var fd = new double[hv[i].Length];
            for (int j = 0; j < fd.Length; j++)
            {
                fd[j] = ((double)gPlus[i][j] - gMinus[i][j]) / (2 * eps);
            }

            GradientChecker.ExpectClose($"H·v for parameter {i}", hv[i], fd, 2e-3, 2e-2);
            largest = Math.Max(largest, fd.Max(Math.Abs));
        }

        Assert.That(largest, Is.GreaterThan(0.05), "the Hessian-vector product should not be negligible");
    }

    /// <summary>θ + ε·v, parameter by parameter.</summary>
    public static RefTensor[] Shift(RefTensor[] theta, RefTensor[] v, double eps) =>
        theta.Select((t, i) =>
        {
            var s = t.Copy();
            for (int j = 0; j < s.Size; j++)
            {
                s.Data[j] += eps * v[i].Data[j];
            }

            return s;
        }).ToArray();
}
