using System.Numerics.Tensors;
using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Cpu;
using Tensor = SparseNet.Engine.Tensors.Tensor;
using SparseNet.Kernels;

namespace SparseNet.Engine.Devices;

/// <summary>The CPU backend: SIMD kernels from SparseNet.Kernels and TensorPrimitives over host arrays.</summary>
internal sealed partial class CpuBackend : IBackend
{
    private static float[] D(Tensor t) => ((CpuStorage)t.Storage).Data;

    private static int[] I(IndexBuffer b) => ((CpuIndexBuffer)b).Data;

    public Storage Allocate(int length, bool zeroed) =>
        new CpuStorage(zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length));

    public Storage FromHost(ReadOnlySpan<float> data) => new CpuStorage(data.ToArray());

    public void CopyFromHost(ReadOnlySpan<float> source, Storage destination) => source.CopyTo(((CpuStorage)destination).Data);

    public IndexBuffer AllocateIndices(int length) => new CpuIndexBuffer(GC.AllocateUninitializedArray<int>(length), Device.Cpu);

    public void ToHost(Storage source, Span<float> destination) => ((CpuStorage)source).Data.AsSpan().CopyTo(destination);

    public void Fill(Storage storage, float value) => ((CpuStorage)storage).Data.AsSpan().Fill(value);

    public void Copy(Storage source, Storage destination) => ((CpuStorage)source).Data.AsSpan().CopyTo(((CpuStorage)destination).Data);

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result)
    {
        float[] x = D(a), y = D(b), r = D(result);
        // Every binary op is exact per element, so splitting a long pass between the cores changes no bit.
        if (a.Size == result.Size && b.Size == result.Size)
        {
            ParallelChunks.For(r.Length, (s, n) => BinarySame(op, x.AsSpan(s, n), y.AsSpan(s, n), r.AsSpan(s, n)));
            return;
        }

        if (a.Size == result.Size && b.Size == 1)
        {
            float scalar = y[0];
            ParallelChunks.For(r.Length, (s, n) => BinaryScalarRight(op, x.AsSpan(s, n), scalar, r.AsSpan(s, n)));
            return;
        }

        // Row broadcast (bias add and friends): b's shape is a suffix of the result's.
        if (a.Size == result.Size && b.Size > 0 && IsSuffix(b.Shape, result.Shape))
        {
            int n = b.Size;
            for (int off = 0; off < r.Length; off += n)
            {
                BinarySame(op, x.AsSpan(off, n), y, r.AsSpan(off, n));
            }

            return;
        }

        // Channel broadcast (a bias [1,C,1,1] over [N,C,H,W]): one scalar of b per contiguous run of a.
        if (a.Size == result.Size && b.Size > 0 && MiddleRun(b.Shape, result.Shape) is var (_, mid, inner) && inner > 1)
        {
            ParallelChunks.For(r.Length, (s, n) =>
            {
                // The runs of one scalar each that meet [s, s + n), the first and last possibly cut.
                for (int off = s, end = s + n; off < end;)
                {
                    int run = off / inner, take = Math.Min(((run + 1) * inner) - off, end - off);
                    BinaryScalarRight(op, x.AsSpan(off, take), y[run % mid], r.AsSpan(off, take));
                    off += take;
                }
            });
            return;
        }

        BinaryGeneral(op, a, b, result);
    }

    /// <summary>
    /// When <paramref name="small"/>, aligned to the right of <paramref name="big"/>, is 1 everywhere except
    /// one contiguous run of dimensions equal to big's, the sizes (outer, run, inner) of big around that run.
    /// </summary>
    private static (int Outer, int Mid, int Inner)? MiddleRun(int[] small, int[] big)
    {
        int offset = big.Length - small.Length;
        if (offset < 0)
        {
            return null;
        }

        int first = -1, last = -1;
        for (int d = 0; d < small.Length; d++)
        {
            if (small[d] != 1)
            {
                if (small[d] != big[d + offset] || (last >= 0 && last != d - 1))
                {
                    return null;
                }

                first = first < 0 ? d + offset : first;
                last = d;
            }
        }

        if (first < 0)
        {
            return null;
        }

        last += offset;
        int outer = 1, mid = 1, inner = 1;
        for (int d = 0; d < big.Length; d++)
        {
            if (d < first)
            {
                outer *= big[d];
            }
            else if (d <= last)
            {
                mid *= big[d];
            }
            else
            {
                inner *= big[d];
            }
        }

        return (outer, mid, inner);
    }

    private static bool IsSuffix(int[] small, int[] big)
    {
        int skip = 0;
        while (skip < small.Length && small[skip] == 1)
        {
            skip++;
        }

        int len = small.Length - skip;
        return len <= big.Length && small.AsSpan(skip).SequenceEqual(big.AsSpan(big.Length - len));
    }

    private static void BinarySame(BinaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> r)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(x, y, r); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, r); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, r); break;
            case BinaryOp.Div: TensorPrimitives.Divide(x, y, r); break;
            case BinaryOp.Equal: Elementwise.Equal(x, y, r); break;
            case BinaryOp.Greater: Elementwise.Greater(x, y, r); break;
            case BinaryOp.WherePositive: Elementwise.WherePositive(x, y, r); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
    }

    private static void BinaryScalarRight(BinaryOp op, ReadOnlySpan<float> x, float s, Span<float> r)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(x, s, r); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(x, s, r); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, s, r); break;
            case BinaryOp.Div: TensorPrimitives.Divide(x, s, r); break;
            case BinaryOp.Equal: Elementwise.Equal(x, s, r); break;
            case BinaryOp.Greater: Elementwise.Greater(x, s, r); break;
            case BinaryOp.WherePositive: Elementwise.WherePositive(x, s, r); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
    }

    private static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Equal => a == b ? 1f : 0f,
        BinaryOp.Greater => a > b ? 1f : 0f,
        BinaryOp.WherePositive => b > 0f ? a : 0f,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    };

    // Scalar: arbitrary broadcasts walk both inputs with a strided cursor; the common layouts are caught above.
    private static void BinaryGeneral(BinaryOp op, Tensor a, Tensor b, Tensor result)
    {
        float[] x = D(a), y = D(b), r = D(result);
        int[] shape = result.Shape;
        var at = new BroadcastCursor(shape, Shape.BroadcastStrides(a.Shape, shape), Shape.BroadcastStrides(b.Shape, shape));
        for (int i = 0; i < r.Length; i++, at.Next())
        {
            r[i] = Apply(op, x[at.A], y[at.B]);
        }
    }

    public void Unary(UnaryOp op, Tensor a, Tensor result)
    {
        float[] x = D(a), r = D(result);
        if (op is UnaryOp.Neg or UnaryOp.Relu or UnaryOp.Sqrt or UnaryOp.Square or UnaryOp.Abs or UnaryOp.Step or UnaryOp.Sign)
        {
            // Exact per element (IEEE square root included), so a long pass may be split between the cores.
            ParallelChunks.For(r.Length, (s, n) => UnaryExact(op, x.AsSpan(s, n), r.AsSpan(s, n)));
            return;
        }

        switch (op)
        {
            case UnaryOp.Exp: TensorPrimitives.Exp(x, r); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, r); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, r); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, r); break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    private static void UnaryExact(UnaryOp op, ReadOnlySpan<float> x, Span<float> r)
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, r); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, r); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, r); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, r); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, r); break;
            case UnaryOp.Step: Elementwise.Step(x, r); break;
            case UnaryOp.Sign: Elementwise.Sign(x, r); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "not an exact unary op");
        }
    }

    public void Affine(Tensor a, float scale, float shift, Tensor result)
    {
        float[] x = D(a), r = D(result);
        ParallelChunks.For(r.Length, (s, n) =>
        {
            var chunk = r.AsSpan(s, n);
            TensorPrimitives.Multiply(x.AsSpan(s, n), scale, chunk);
            if (shift != 0f)
            {
                TensorPrimitives.Add(chunk, shift, chunk);
            }
        });
    }

    public void Pow(Tensor a, float exponent, Tensor result) => TensorPrimitives.Pow(D(a), exponent, D(result));

    public void SumTo(Tensor a, Tensor result)
    {
        float[] x = D(a), r = D(result);
        if (result.Size == 1)
        {
            r[0] = TensorPrimitives.Sum(x);
            return;
        }

        // Column sums over leading rows (bias gradients): the result's shape is a suffix of a's.
        if (result.Size > 0 && IsSuffix(result.Shape, a.Shape))
        {
            int n = result.Size;
            x.AsSpan(0, n).CopyTo(r);
            for (int off = n; off < x.Length; off += n)
            {
                TensorPrimitives.Add(r, x.AsSpan(off, n), r);
            }

            return;
        }

        // Per-channel sums (bias gradients of a convolution): one contiguous run of a per result element.
        if (result.Size > 0 && MiddleRun(result.Shape, a.Shape) is var (outer, mid, inner) && inner > 1)
        {
            Reduction.SumRuns(x, outer, mid, inner, r);
            return;
        }

        Array.Clear(r);
        int[] shape = a.Shape;
        var at = new BroadcastCursor(shape, Shape.BroadcastStrides(result.Shape, shape));
        for (int i = 0; i < x.Length; i++, at.Next())
        {
            r[at.A] += x[i];
        }
    }

    public void MaxAlong(Tensor a, int axis, Tensor result)
    {
        var (outer, inner) = Shape.AroundAxis(a.Shape, axis);
        Reduction.MaxAlong(D(a), outer, a.Shape[axis], inner, D(result));
    }

    public void BroadcastTo(Tensor a, Tensor result)
    {
        float[] x = D(a), r = D(result);
        if (a.Size == 1)
        {
            r.AsSpan().Fill(x[0]);
            return;
        }

        if (IsSuffix(a.Shape, result.Shape))
        {
            for (int off = 0; off < r.Length; off += x.Length)
            {
                x.CopyTo(r, off);
            }

            return;
        }

        // One element of a per contiguous run of the result ([N,C,1,1] to [N,C,H,W]: global pooling's gradient).
        if (a.Size > 0 && MiddleRun(a.Shape, result.Shape) is var (outer, mid, inner) && inner > 1)
        {
            for (int run = 0; run < outer * mid; run++)
            {
                r.AsSpan(run * inner, inner).Fill(x[run % mid]);
            }

            return;
        }

        int[] shape = result.Shape;
        var at = new BroadcastCursor(shape, Shape.BroadcastStrides(a.Shape, shape));
        for (int i = 0; i < r.Length; i++, at.Next())
        {
            r[i] = x[at.A];
        }
    }

    // Scalar on purpose: a transpose is pure data movement, the portable Vector128/256/512 API has no
    // two-register shuffle (unpack, zip) to transpose a tile of registers at every width, and matmul absorbs its
    // transposes in Sgemm's packing, so this serves only explicit Transpose() calls.
    public void Transpose(Tensor a, Tensor result)
    {
        float[] x = D(a), r = D(result);
        int rows = a.Shape[^2], cols = a.Shape[^1], plane = rows * cols;
        for (int p = 0; p + plane <= x.Length && plane > 0; p += plane)
        {
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    r[p + (j * rows) + i] = x[p + (i * cols) + j];
                }
            }
        }
    }

    public void LogSoftmax(Tensor a, Tensor result) => RowSoftmax(D(a), D(result), a.Shape[^1], log: true);

    public void Softmax(Tensor a, Tensor result) => RowSoftmax(D(a), D(result), a.Shape[^1], log: false);

    private static void RowSoftmax(float[] x, float[] r, int n, bool log)
    {
        if (n == 0)
        {
            return;
        }

        for (int off = 0; off < x.Length; off += n)
        {
            var row = x.AsSpan(off, n);
            var dst = r.AsSpan(off, n);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, dst);
            if (log)
            {
                float lse = MathF.Log(SumExp(dst));
                TensorPrimitives.Subtract(dst, lse, dst);
            }
            else
            {
                TensorPrimitives.Exp(dst, dst);
                TensorPrimitives.Divide(dst, TensorPrimitives.Sum(dst), dst);
            }
        }
    }

    private static float SumExp(ReadOnlySpan<float> shifted)
    {
        double s = 0;
        foreach (float v in shifted)
        {
            s += MathF.Exp(v);
        }

        return (float)s;
    }

    public void SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor result)
    {
        float[] x = D(logits);
        int n = logits.Shape[1];
        double total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = x.AsSpan(i * n, n);
            float max = TensorPrimitives.Max(row);
            double s = 0;
            foreach (float v in row)
            {
                s += MathF.Exp(v - max);
            }

            total += Math.Log(s) + max - row[labels[i]];
        }

        D(result)[0] = labels.Length == 0 ? 0f : (float)(total / labels.Length);
    }

    public void OneHot(ReadOnlySpan<int> labels, Tensor result)
    {
        float[] r = D(result);
        Array.Clear(r);
        int n = result.Shape[^1];
        for (int i = 0; i < labels.Length; i++)
        {
            r[(i * n) + labels[i]] = 1f;
        }
    }

    public void Narrow(Tensor a, int axis, int start, Tensor result) => CopyBlocks(a, result, axis, start, toResult: true);

    public void Pad(Tensor a, int axis, int start, Tensor result)
    {
        Array.Clear(D(result));
        CopyBlocks(result, a, axis, start, toResult: false);
    }

    // Copies between a big tensor and a slice of it along one axis; the slice is contiguous per outer index.
    private static void CopyBlocks(Tensor big, Tensor slice, int axis, int start, bool toResult)
    {
        float[] b = D(big), s = D(slice);
        var (outer, inner) = Shape.AroundAxis(big.Shape, axis);

        int bigBlock = big.Shape[axis] * inner, sliceBlock = slice.Shape[axis] * inner;
        for (int o = 0; o < outer; o++)
        {
            var bigSpan = b.AsSpan((o * bigBlock) + (start * inner), sliceBlock);
            var sliceSpan = s.AsSpan(o * sliceBlock, sliceBlock);
            if (toResult)
            {
                bigSpan.CopyTo(sliceSpan);
            }
            else
            {
                sliceSpan.CopyTo(bigSpan);
            }
        }
    }

    public float KthSmallest(Tensor a, int k) => Selection.KthSmallest((ReadOnlySpan<float>)D(a), k);

    // Scalar on purpose: the loads are indexed, and the portable vector API has no gather (only ISA-specific ones).
    public void Gather(Tensor a, IndexBuffer indices, Tensor result)
    {
        float[] x = D(a), r = D(result);
        int[] index = I(indices);
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = x[index[i]];
        }
    }

    // Scalar on purpose: indices may repeat, and the additions into one element must stay in index order.
    public void ScatterAdd(Tensor a, IndexBuffer indices, Tensor result)
    {
        float[] x = D(a), r = D(result);
        int[] index = I(indices);
        Array.Clear(r);
        for (int i = 0; i < x.Length; i++)
        {
            r[index[i]] += x[i];
        }
    }
}
