using SparseNet.Engine.Devices;
using SparseNet.Kernels;

namespace SparseNet.Engine.Tensors;

/// <summary>Elementwise ops: each forward rule stands next to its backward rule.</summary>
public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    /// <summary>a − b with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    /// <summary>a · b elementwise with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    /// <summary>a / b elementwise with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    /// <summary>−a.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>a + s.</summary>
    public static Tensor operator +(Tensor a, float s) => a.Affine(1f, s);

    /// <summary>a − s.</summary>
    public static Tensor operator -(Tensor a, float s) => a.Affine(1f, -s);

    /// <summary>s − a.</summary>
    public static Tensor operator -(float s, Tensor a) => a.Affine(-1f, s);

    /// <summary>a · s.</summary>
    public static Tensor operator *(Tensor a, float s) => a.Affine(s, 0f);

    /// <summary>s · a.</summary>
    public static Tensor operator *(float s, Tensor a) => a.Affine(s, 0f);

    /// <summary>a / s.</summary>
    public static Tensor operator /(Tensor a, float s) => a.Affine(1f / s, 0f);

    /// <summary>a + b with broadcasting.</summary>
    public Tensor Add(Tensor b)
    {
        var a = this;
        var y = BinaryForward(BinaryOp.Add, "add", a, b);
        return Record(y, "add", [a, b], g => [g.SumTo(a.Shape), g.SumTo(b.Shape)]);
    }

    /// <summary>a − b with broadcasting.</summary>
    public Tensor Sub(Tensor b)
    {
        var a = this;
        var y = BinaryForward(BinaryOp.Sub, "sub", a, b);
        return Record(y, "sub", [a, b], g => [g.SumTo(a.Shape), b.RequiresGrad ? g.Neg().SumTo(b.Shape) : null]);
    }

    /// <summary>a · b elementwise with broadcasting.</summary>
    public Tensor Mul(Tensor b)
    {
        var a = this;
        var y = BinaryForward(BinaryOp.Mul, "mul", a, b);
        return Record(y, "mul", [a, b], g =>
            [a.RequiresGrad ? (g * b).SumTo(a.Shape) : null, b.RequiresGrad ? (g * a).SumTo(b.Shape) : null]);
    }

    /// <summary>a / b elementwise with broadcasting.</summary>
    public Tensor Div(Tensor b)
    {
        var a = this;
        var y = BinaryForward(BinaryOp.Div, "div", a, b);
        return Record(y, "div", [a, b], g =>
            [a.RequiresGrad ? (g / b).SumTo(a.Shape) : null, b.RequiresGrad ? (-(g * a) / (b * b)).SumTo(b.Shape) : null]);
    }

    /// <summary>1 where a == b, else 0; a constant (no gradient).</summary>
    public Tensor EqualMask(Tensor b) => BinaryForward(BinaryOp.Equal, "equal", this, b);

    /// <summary>1 where a &gt; b, else 0; a constant (no gradient).</summary>
    public Tensor GreaterMask(Tensor b) => BinaryForward(BinaryOp.Greater, "greater", this, b);

    /// <summary>this·scale + shift.</summary>
    public Tensor Affine(float scale, float shift)
    {
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.Affine(this, scale, shift, y);
        return Record(y, "affine", [this], g => [g * scale]);
    }

    /// <summary>thisᵖ elementwise.</summary>
    public Tensor Pow(float exponent)
    {
        var x = this;
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.Pow(x, exponent, y);
        return Record(y, "pow", [x], g => [g * x.Pow(exponent - 1f) * exponent]);
    }

    /// <summary>−x.</summary>
    public Tensor Neg()
    {
        var y = UnaryForward(UnaryOp.Neg);
        return Record(y, "neg", [this], g => [g.Neg()]);
    }

    /// <summary>eˣ.</summary>
    public Tensor Exp()
    {
        var y = UnaryForward(UnaryOp.Exp);
        return Record(y, "exp", [this], g => [g * y]);
    }

    /// <summary>ln x.</summary>
    public Tensor Log()
    {
        var x = this;
        var y = UnaryForward(UnaryOp.Log);
        return Record(y, "log", [x], g => [g / x]);
    }

    /// <summary>max(x, 0).</summary>
    public Tensor Relu()
    {
        var x = this;
        var y = UnaryForward(UnaryOp.Relu);
        return Record(y, "relu", [x], g => [g.WherePositive(x)]);
    }

    /// <summary>
    /// The <paramref name="k"/>-th smallest (0-based) of this tensor's elements, the tensor left as it is: the threshold
    /// of magnitude pruning or of a top-k mask, computed by the device's selection primitive. Not recorded: a
    /// threshold has no gradient.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is outside [0, Size).</exception>
    /// <exception cref="ArgumentException">An element is NaN (the message names its index).</exception>
    public float KthSmallest(int k)
    {
        if (k < 0 || k >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"kth smallest: k = {k} is outside [0, {Size}) for a tensor of {Size} elements");
        }

        return Device.Backend.KthSmallest(this, k);
    }

    /// <summary>
    /// This tensor where <paramref name="condition"/> &gt; 0, else 0 (same shape). Differentiable in this
    /// tensor only: the condition acts as a constant mask.
    /// </summary>
    public Tensor WherePositive(Tensor condition)
    {
        RequireSameShape("where_positive", this, condition);
        RequireSameDevice("where_positive", this, condition);
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.Binary(BinaryOp.WherePositive, this, condition, y);
        return Record(y, "where_positive", [this], g => [g.WherePositive(condition)]);
    }

    /// <summary>1 where x &gt; 0, else 0; a constant (no gradient).</summary>
    public Tensor StepMask() => UnaryForward(UnaryOp.Step);

    /// <summary>sign(x); a constant (no gradient).</summary>
    public Tensor SignMask() => UnaryForward(UnaryOp.Sign);

    /// <summary>tanh x.</summary>
    public Tensor Tanh()
    {
        var y = UnaryForward(UnaryOp.Tanh);
        return Record(y, "tanh", [this], g => [g * (1f - (y * y))]);
    }

    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid()
    {
        var y = UnaryForward(UnaryOp.Sigmoid);
        return Record(y, "sigmoid", [this], g => [g * y * (1f - y)]);
    }

    /// <summary>√x.</summary>
    public Tensor Sqrt()
    {
        var y = UnaryForward(UnaryOp.Sqrt);
        return Record(y, "sqrt", [this], g => [g / (y * 2f)]);
    }

    /// <summary>x².</summary>
    public Tensor Square()
    {
        var x = this;
        var y = UnaryForward(UnaryOp.Square);
        return Record(y, "square", [x], g => [g * x * 2f]);
    }

    /// <summary>|x| (gradient sign(x), 0 at 0).</summary>
    public Tensor Abs()
    {
        var x = this;
        var y = UnaryForward(UnaryOp.Abs);
        return Record(y, "abs", [x], g => [g * x.SignMask()]);
    }

    /// <summary>this += other in place (same shape); not recorded, for optimizers and gradient accumulation.</summary>
    public void AddInPlace(Tensor other)
    {
        RequireSameShape("add_", this, other);
        RequireSameDevice("add_", this, other);
        Version++;
        Device.Backend.Binary(BinaryOp.Add, this, other, this);
    }

    /// <summary>this *= other in place (other broadcast to this shape); not recorded, for masks.</summary>
    public void MulInPlace(Tensor other)
    {
        Tensors.Shape.Broadcast("mul_", Shape, other.Shape);
        RequireSameDevice("mul_", this, other);
        Version++;
        Device.Backend.Binary(BinaryOp.Mul, this, other, this);
    }

    /// <summary>this *= mask in place when a mask is given; not recorded.</summary>
    internal void MulInPlaceIfMasked(Tensor? mask)
    {
        if (mask is not null)
        {
            MulInPlace(mask);
        }
    }

    private static Tensor BinaryForward(BinaryOp op, string name, Tensor a, Tensor b)
    {
        RequireSameDevice(name, a, b);
        int[] shape = Tensors.Shape.Equal(a.Shape, b.Shape) ? (int[])a.Shape.Clone() : Tensors.Shape.Broadcast(name, a.Shape, b.Shape);
        var y = a.NewEmpty(shape);
        a.Device.Backend.Binary(op, a, b, y);
        return y;
    }

    private Tensor UnaryForward(UnaryOp op)
    {
        var y = NewEmpty((int[])Shape.Clone());
        Device.Backend.Unary(op, this, y);
        return y;
    }
}
