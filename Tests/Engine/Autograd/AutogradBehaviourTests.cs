using SparseNet.Engine.Autograd;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>Shape errors, accumulation, grad modes and graph traversal.</summary>
public class AutogradBehaviourTests
{
    private static Tensor Param(float[] values, params int[] shape)
    {
        var t = Tensor.FromArray(values, shape);
        t.RequiresGrad = true;
        return t;
    }

    [Test]
    public void MatMul_inner_dimension_error_names_both_shapes()
    {
        var a = Tensor.Zeros(60, 784);
        var b = Tensor.Zeros(300, 784);
        var ex = Assert.Throws<ArgumentException>(() => Tensor.MatMul(a, b));
        Assert.That(ex!.Message, Does.Contain("[60,784]").And.Contain("[300,784]").And.Contain("inner dimensions"));

        // The same operands are compatible once B is transposed.
        var product = Tensor.MatMul(a, b, transposeB: true);
        Assert.That(product.Shape[0], Is.EqualTo(60));
        Assert.That(product.Shape[1], Is.EqualTo(300));
    }

    [Test]
    public void MatMul_batch_mismatch_error_names_both_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.MatMul(Tensor.Zeros(2, 3, 4), Tensor.Zeros(3, 4, 5)));
        Assert.That(ex!.Message, Does.Contain("[2,3,4]").And.Contain("[3,4,5]"));
    }

    [Test]
    public void Broadcast_error_names_both_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = Tensor.Zeros(3, 4) + Tensor.Zeros(5));
        Assert.That(ex!.Message, Does.Contain("[3,4]").And.Contain("[5]").And.Contain("broadcast"));

        var mul = Assert.Throws<ArgumentException>(() => _ = Tensor.Zeros(2, 3, 4) * Tensor.Zeros(2, 1, 3));
        Assert.That(mul!.Message, Does.Contain("[2,3,4]").And.Contain("[2,1,3]"));
    }

    [Test]
    public void Shape_op_errors_name_the_shapes()
    {
        var reshape = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Reshape(4, 2));
        Assert.That(reshape!.Message, Does.Contain("[2,3]").And.Contain("[4,2]"));

        var sumTo = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3, 4).SumTo([3, 5]));
        Assert.That(sumTo!.Message, Does.Contain("[3,4]").And.Contain("[3,5]"));

        var conv = Assert.Throws<ArgumentException>(() => Tensor.Conv2d(Tensor.Zeros(1, 3, 5, 5), Tensor.Zeros(2, 4, 3, 3)));
        Assert.That(conv!.Message, Does.Contain("[1,3,5,5]").And.Contain("[2,4,3,3]"));

        var backward = Param([1, 2, 3], 3);
        var y = backward * 2f;
        var grad = Assert.Throws<ArgumentException>(() => Gradients.Backward(y, Tensor.Ones(4)));
        Assert.That(grad!.Message, Does.Contain("[3]").And.Contain("[4]"));
    }

    [Test]
    public void Backward_without_gradient_on_a_non_scalar_output_is_an_error()
    {
        var x = Param([1, 2, 3], 3);
        var ex = Assert.Throws<ArgumentException>(() => Gradients.Backward(x * x));
        Assert.That(ex!.Message, Does.Contain("[3]"));
    }

    [Test]
    public void Calling_backward_twice_accumulates()
    {
        var x = Param([1, -2, 3], 3);
        var w = Param([0.5f, 4, -1], 3);
        Gradients.Backward((x * w).Sum());
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 0.5f, 4, -1 }));
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(new[] { 1f, -2, 3 }));

        Gradients.Backward((x * w).Sum());
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 1f, 8, -2 }));
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(new[] { 2f, -4, 6 }));

        // A third, different loss adds its own gradient on top.
        Gradients.Backward((x * 3f).Sum());
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 4f, 11, 1 }));
    }

    [Test]
    public void First_backward_gradient_is_not_aliased_to_graph_buffers()
    {
        // d(sum x)/dx is a broadcast buffer; accumulating into x.Grad must not change anything else.
        var x = Param([1, 2], 2);
        var y = x.Sum();
        Gradients.Backward(y);
        var first = x.Grad!;
        Gradients.Backward(x.Sum());
        Assert.That(first.ToArray(), Is.EqualTo(new[] { 2f, 2 }));
        Assert.That(x.ToArray(), Is.EqualTo(new[] { 1f, 2 }));
    }

    [Test]
    public void Grad_from_createGraph_backward_is_private_to_each_leaf()
    {
        // Through an add of equal shapes the upstream gradient reaches both leaves unchanged; each leaf
        // must still own its Grad, so a later in-place accumulation touches neither the other leaf nor r.
        var x = Param([1, 2, 3], 3);
        var b = Param([4, 5, 6], 3);
        var r = Tensor.FromArray([0.5f, -1, 2], 3);
        Gradients.Backward(x + b, r, createGraph: true);
        Gradients.Backward((x * 2f).Sum());
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 2.5f, 1, 4 }));
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 0.5f, -1, 2 }));
        Assert.That(r.ToArray(), Is.EqualTo(new[] { 0.5f, -1, 2 }));

        // A leaf used directly as the output must not adopt the caller's gradient tensor either.
        var leaf = Param([1, 1], 2);
        var seed = Tensor.FromArray([3f, 4], 2);
        Gradients.Backward(leaf, seed, createGraph: true);
        leaf.Grad!.Fill(0f);
        Assert.That(seed.ToArray(), Is.EqualTo(new[] { 3f, 4 }));
    }

    [Test]
    public void NoGrad_scope_records_nothing()
    {
        var x = Param([1, 2, 3], 3);
        Tensor y, z;
        using (GradMode.NoGrad())
        {
            Assert.That(GradMode.IsEnabled, Is.False);
            y = (x * x).Exp().Sum();
            using (GradMode.NoGrad())
            {
                z = x.Tanh();
            }

            // Leaving the inner scope keeps the outer one in force.
            Assert.That(GradMode.IsEnabled, Is.False);
        }

        Assert.That(GradMode.IsEnabled, Is.True);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.IsLeaf, Is.True);
        Assert.That(z.RequiresGrad, Is.False);
        Assert.That(() => Gradients.Backward(y), Throws.InvalidOperationException);

        // Outside the scope, recording is back on.
        var w = x * x;
        Assert.That(w.RequiresGrad, Is.True);
        Assert.That(w.IsLeaf, Is.False);
    }

    [Test]
    public void EnableGrad_inside_NoGrad_records()
    {
        var x = Param([1, 2], 2);
        using (GradMode.NoGrad())
        {
            using (GradMode.EnableGrad())
            {
                Assert.That((x * x).RequiresGrad, Is.True);
            }

            Assert.That((x * x).RequiresGrad, Is.False);
        }
    }

    [Test]
    public void Ops_on_tensors_without_grad_are_not_recorded()
    {
        var a = Tensor.FromArray([1f, 2], 2);
        var y = a.Exp() * a;
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.IsLeaf, Is.True);
    }

    [Test]
    public void Grad_returns_gradients_without_touching_Grad()
    {
        var x = Param([1, 2, 3], 3);
        var w = Param([2, -1, 0.5f], 3);
        var y = (x * w).Sum() + x.Square().Sum();
        var g = Gradients.Grad([y], [x, w]);
        Assert.That(x.Grad, Is.Null);
        Assert.That(w.Grad, Is.Null);
        Assert.That(g[0]!.ToArray(), Is.EqualTo(new[] { 4f, 3, 6.5f }));
        Assert.That(g[1]!.ToArray(), Is.EqualTo(new[] { 1f, 2, 3 }));
    }

    [Test]
    public void Grad_with_output_gradient_and_an_interior_input()
    {
        var x = Param([1, 2, 3], 3);
        var h = x * 2f;
        var y = h.Square();
        var g = Gradients.Grad([y], [h, x], [Tensor.FromArray([1f, 0, -1], 3)]);

        // dy/dh = 2h, dy/dx = 4h with h = 2x.
        Assert.That(g[0]!.ToArray(), Is.EqualTo(new[] { 4f, 0, -12 }));
        Assert.That(g[1]!.ToArray(), Is.EqualTo(new[] { 8f, 0, -24 }));
        Assert.That(x.Grad, Is.Null);
    }

    [Test]
    public void Grad_of_an_unused_input_is_an_error_unless_allowed()
    {
        var x = Param([1, 2], 2);
        var unused = Param([3], 1);
        var y = x.Sum();
        Assert.That(() => Gradients.Grad([y], [x, unused]), Throws.InvalidOperationException);
        var g = Gradients.Grad([x.Sum()], [x, unused], allowUnused: true);
        Assert.That(g[1], Is.Null);
        Assert.That(g[0]!.ToArray(), Is.EqualTo(new[] { 1f, 1 }));
    }

    [Test]
    public void Deep_chain_of_twenty_thousand_adds_does_not_overflow_the_stack()
    {
        const int depth = 20_000;
        var x = Param([1, 2], 2);
        var y = x;
        for (int i = 0; i < depth; i++)
        {
            y = y + x;
        }

        Gradients.Backward(y.Sum());
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { depth + 1f, depth + 1f }));

        var g = Gradients.Grad([y.Sum()], [x], createGraph: true);
        Assert.That(g[0]!.ToArray(), Is.EqualTo(new[] { depth + 1f, depth + 1f }));
    }

    [Test]
    public void Diamond_graph_sums_both_paths()
    {
        // y = tanh(x)·exp(x): x reaches y through two branches that meet again.
        var x = Param([0.3f, -0.7f], 2);
        var y = (x.Tanh() * x.Exp()).Sum();
        Gradients.Backward(y);
        var expected = new[] { 0.3, -0.7 }.Select(v =>
        {
            double t = Math.Tanh(v);
            return ((1 - (t * t)) * Math.Exp(v)) + (t * Math.Exp(v));
        }).ToArray();
        GradientChecker.ExpectClose("diamond gradient", x.Grad!.ToArray(), expected, 1e-6, 1e-5);
    }

    [Test]
    public void Backward_with_createGraph_gives_a_differentiable_Grad()
    {
        // y = Σ x³ ⇒ Grad = 3x², and d(Σ Grad)/dx = 6x.
        var x = Param([1, -2, 0.5f], 3);
        Gradients.Backward(x.Pow(3f).Sum(), createGraph: true);
        Assert.That(x.Grad!.RequiresGrad, Is.True);
        GradientChecker.ExpectClose("first", x.Grad.ToArray(), new[] { 3.0, 12, 0.75 }, 1e-5, 1e-5);
        var second = Gradients.Grad([x.Grad.Sum()], [x]);
        GradientChecker.ExpectClose("second", second[0]!.ToArray(), new[] { 6.0, -12, 3 }, 1e-4, 1e-5);
    }
}
