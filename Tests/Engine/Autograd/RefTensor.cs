using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>A double-precision, row-major array with a shape: the value type of <see cref="DoubleReference"/>.</summary>
public sealed class RefTensor
{
    public RefTensor(double[] data, int[] shape)
    {
        int size = 1;
        foreach (int d in shape)
        {
            size *= d;
        }

        if (data.Length != size)
        {
            throw new ArgumentException($"ref: {data.Length} values for a shape of {size} elements");
        }

        Data = data;
        Shape = shape;
    }

    public double[] Data { get; }

    public int[] Shape { get; }

    public int Rank => Shape.Length;

    public int Size => Data.Length;

    public static RefTensor Zeros(params int[] shape)
    {
        int size = 1;
        foreach (int d in shape)
        {
            size *= d;
        }

        return new RefTensor(new double[size], shape);
    }

    public static RefTensor FromTensor(Tensor t) => new(Array.ConvertAll(t.ToArray(), v => (double)v), (int[])t.Shape.Clone());

    public RefTensor Copy() => new((double[])Data.Clone(), (int[])Shape.Clone());

    /// <summary>Rounds to float32 and makes an engine tensor of the same shape.</summary>
    public Tensor ToTensor(bool requiresGrad = false)
    {
        var t = Tensor.FromArray(Array.ConvertAll(Data, v => (float)v), Shape);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>Row-major strides.</summary>
    public int[] Strides()
    {
        var s = new int[Rank];
        int acc = 1;
        for (int i = Rank - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= Shape[i];
        }

        return s;
    }

    /// <summary>Multi-index of a flat position.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }

        return idx;
    }

    public override string ToString() => "[" + string.Join(",", Shape) + "]";
}
