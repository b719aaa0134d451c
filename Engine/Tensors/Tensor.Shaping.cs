namespace SparseNet.Engine.Tensors;

/// <summary>Shape ops, reductions and slicing, forward and backward side by side.</summary>
public sealed partial class Tensor
{
    /// <summary>Same elements, new shape (one dimension may be −1); shares storage.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int[] resolved = ResolveShape(shape);
        var x = this;
        var y = new Tensor(Storage, resolved);
        return Record(y, "reshape", [x], g => [g.Reshape(x.Shape)]);
    }

    /// <summary>Keeps the first dimension and flattens the rest: [N, ...] → [N, prod(...)].</summary>
    public Tensor Flatten()
    {
        if (Rank < 1)
        {
            throw new InvalidOperationException("flatten: a scalar has no batch dimension");
        }

        return Reshape(Shape[0], Shape[0] == 0 ? 0 : Size / Shape[0]);
    }

    /// <summary>Swaps the last two dimensions (copies).</summary>
    public Tensor Transpose()
    {
        if (Rank < 2)
        {
            throw new ArgumentException($"transpose: needs rank ≥ 2, shape is {Tensors.Shape.Format(Shape)}");
        }

        int[] shape = (int[])Shape.Clone();
        (shape[^1], shape[^2]) = (shape[^2], shape[^1]);
        var y = NewEmpty(shape);
        Device.Backend.Transpose(this, y);
        return Record(y, "transpose", [this], g => [g.Transpose()]);
    }

    /// <summary>Sums down to a shape this one broadcasts to it from (the reduction of a broadcast gradient).</summary>
    public Tensor SumTo(int[] shape)
    {
        if (Tensors.Shape.Equal(shape, Shape))
        {
            return this;
        }

        int[] check = Tensors.Shape.Broadcast("sum_to", shape, Shape);
        if (!Tensors.Shape.Equal(check, Shape))
        {
            throw new ArgumentException($"sum_to: {Tensors.Shape.Format(Shape)} cannot be summed to {Tensors.Shape.Format(shape)}");
        }

        var x = this;
        var y = NewEmpty((int[])shape.Clone());
        Device.Backend.SumTo(this, y);
        return Record(y, "sum_to", [x], g => [g.BroadcastTo(x.Shape)]);
    }

    /// <summary>Repeats size-1 (or missing leading) dimensions up to <paramref name="shape"/>.</summary>
    public Tensor BroadcastTo(int[] shape)
    {
        if (Tensors.Shape.Equal(shape, Shape))
        {
            return this;
        }

        int[] check = Tensors.Shape.Broadcast("broadcast_to", Shape, shape);
        if (!Tensors.Shape.Equal(check, shape))
        {
            throw new ArgumentException($"broadcast_to: {Tensors.Shape.Format(Shape)} cannot be broadcast to {Tensors.Shape.Format(shape)}");
        }

        var x = this;
        var y = NewEmpty((int[])shape.Clone());
        Device.Backend.BroadcastTo(this, y);
        return Record(y, "broadcast_to", [x], g => [g.SumTo(x.Shape)]);
    }

    /// <summary>Sum of all elements (a scalar).</summary>
    public Tensor Sum() => SumTo([]);

    /// <summary>Sum over the given axes.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false)
    {
        int[] kept = KeptShape("sum", axes);
        var s = SumTo(kept);
        return keepDim ? s : s.Reshape(DropAxes(kept, axes));
    }

    /// <summary>Mean of all elements (a scalar).</summary>
    public Tensor Mean() => Sum() * (1f / Math.Max(1, Size));

    /// <summary>Mean over the given axes.</summary>
    public Tensor Mean(int[] axes, bool keepDim = false)
    {
        int[] kept = KeptShape("mean", axes);
        int count = Size / Math.Max(1, Tensors.Shape.Size(kept));
        return Sum(axes, keepDim) * (1f / Math.Max(1, count));
    }

    /// <summary>Maximum over one axis. The gradient flows to every position equal to the maximum.</summary>
    public Tensor Max(int axis, bool keepDim = false)
    {
        int a = Tensors.Shape.Axis("max", axis, Rank);
        if (Shape[a] == 0)
        {
            throw new ArgumentException($"max: axis {axis} of {Tensors.Shape.Format(Shape)} is empty");
        }

        int[] kept = (int[])Shape.Clone();
        kept[a] = 1;
        var x = this;
        var y = NewEmpty(kept);
        Device.Backend.MaxAlong(this, a, y);
        var recorded = Record(y, "max", [x], g => [g.BroadcastTo(x.Shape) * x.EqualMask(y)]);
        return keepDim ? recorded : recorded.Reshape(DropAxes(kept, [a]));
    }

    /// <summary>Elements [start, start+length) along an axis (copies).</summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        int a = Tensors.Shape.Axis("narrow", axis, Rank);
        if (start < 0 || length < 0 || start + length > Shape[a])
        {
            throw new ArgumentException($"narrow: [{start}, {start + length}) is outside axis {axis} of size {Shape[a]} in {Tensors.Shape.Format(Shape)}");
        }

        int[] shape = (int[])Shape.Clone();
        shape[a] = length;
        var x = this;
        var y = NewEmpty(shape);
        Device.Backend.Narrow(this, a, start, y);
        return Record(y, "narrow", [x], g => [g.PadAlong(a, start, x.Shape[a])]);
    }

    /// <summary>Places this tensor at [start, …) along an axis of a zero tensor of size <paramref name="size"/> there.</summary>
    public Tensor PadAlong(int axis, int start, int size)
    {
        int a = Tensors.Shape.Axis("pad", axis, Rank);
        if (start < 0 || start + Shape[a] > size)
        {
            throw new ArgumentException($"pad: {Shape[a]} elements at {start} do not fit an axis of size {size}");
        }

        int[] shape = (int[])Shape.Clone();
        shape[a] = size;
        var x = this;
        var y = NewEmpty(shape);
        Device.Backend.Pad(this, a, start, y);
        return Record(y, "pad", [x], g => [g.Narrow(a, start, x.Shape[a])]);
    }

    /// <summary>Joins tensors along an axis; other dimensions must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0)
        {
            throw new ArgumentException("concat: no tensors given");
        }

        int a = Tensors.Shape.Axis("concat", axis, tensors[0].Rank);
        int total = 0;
        foreach (var t in tensors)
        {
            for (int d = 0; d < tensors[0].Rank; d++)
            {
                if (t.Rank != tensors[0].Rank || (d != a && t.Shape[d] != tensors[0].Shape[d]))
                {
                    throw new ArgumentException($"concat: {Tensors.Shape.Format(t.Shape)} does not match {Tensors.Shape.Format(tensors[0].Shape)} outside axis {axis}");
                }
            }

            total += t.Shape[a];
        }

        Tensor? result = null;
        int offset = 0;
        foreach (var t in tensors)
        {
            var padded = t.PadAlong(a, offset, total);
            result = result is null ? padded : result + padded;
            offset += t.Shape[a];
        }

        return result!;
    }

    private int[] ResolveShape(int[] shape)
    {
        int[] resolved = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0)
                {
                    throw new ArgumentException($"reshape: more than one −1 in {Tensors.Shape.Format(shape)}");
                }

                infer = i;
            }
            else if (resolved[i] < 0)
            {
                throw new ArgumentException($"reshape: negative dimension in {Tensors.Shape.Format(shape)}");
            }
            else
            {
                known *= resolved[i];
            }
        }

        if (infer >= 0)
        {
            if (known == 0 || Size % known != 0)
            {
                throw new ArgumentException($"reshape: {Tensors.Shape.Format(Shape)} ({Size} elements) cannot be viewed as {Tensors.Shape.Format(shape)}");
            }

            resolved[infer] = (int)(Size / known);
        }

        if (Tensors.Shape.Size(resolved) != Size)
        {
            throw new ArgumentException($"reshape: {Tensors.Shape.Format(Shape)} ({Size} elements) cannot be viewed as {Tensors.Shape.Format(shape)}");
        }

        return resolved;
    }

    private int[] KeptShape(string op, int[] axes)
    {
        int[] kept = (int[])Shape.Clone();
        foreach (int axis in axes)
        {
            kept[Tensors.Shape.Axis(op, axis, Rank)] = 1;
        }

        return kept;
    }

    private static int[] DropAxes(int[] kept, int[] axes)
    {
        var normalized = axes.Select(a => a < 0 ? a + kept.Length : a).ToHashSet();
        return kept.Where((_, i) => !normalized.Contains(i)).ToArray();
    }
}
