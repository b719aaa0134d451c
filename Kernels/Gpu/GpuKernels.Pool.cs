using ILGPU;
using ILGPU.Runtime;

namespace SparseNet.Kernels.Gpu;

public sealed partial class GpuKernels
{
    private Action<Index1D, ArrayView<float>, LayerPoolDims, ArrayView<float>, ArrayView<int>>? _layerMaxPool;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, LayerPoolDims, ArrayView<float>>? _layerMaxPoolBackward;
    private Action<Index1D, ArrayView<float>, LayerPoolDims, float, ArrayView<float>>? _layerAvgPool;
    private Action<Index1D, ArrayView<float>, LayerPoolDims, float, ArrayView<float>>? _layerAvgPoolBackward;

    /// <summary>
    /// Max pooling over the planes of <paramref name="x"/> [Planes, H, W]: y [Planes, OH, OW] gets the largest input
    /// under each window (padding never wins) and <paramref name="argmax"/> its flat index into the whole of x (plane
    /// offset included). Ties go to the first element in row-major window order, and a NaN wins its window (the first
    /// one), as in the CPU kernel.
    /// </summary>
    /// <exception cref="ArgumentException">A bad window, or a view whose length does not match its shape.</exception>
    public void MaxPool2d(ArrayView<float> x, PoolShape g, ArrayView<float> y, ArrayView<int> argmax)
    {
        LayerCheckPool("gpu maxpool", g, ("x", x.Length, true), ("y", y.Length, false), ("argmax", argmax.Length, false));
        if (g.OutputLength == 0)
        {
            return;
        }

        Cached(ref _layerMaxPool, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, LayerPoolDims, ArrayView<float>, ArrayView<int>>(LayerMaxPool2dKernel))(
            (int)g.OutputLength, x, new LayerPoolDims(g), y, argmax);
    }

    /// <summary>
    /// Gradient of <see cref="MaxPool2d"/>: every element of <paramref name="dx"/> [Planes, H, W] is written, with the
    /// sum of the dy of the windows whose argmax is that element (zero where none is), added in increasing output
    /// order exactly as the CPU kernel's scatter adds them. Each element gathers from the windows that can contain it,
    /// so the result needs no atomics; an argmax entry that does not name an element of its own window (not one
    /// <see cref="MaxPool2d"/> wrote) is ignored rather than reported.
    /// </summary>
    /// <exception cref="ArgumentException">A bad window, or a view whose length does not match its shape.</exception>
    public void MaxPool2dBackward(ArrayView<float> dy, ArrayView<int> argmax, PoolShape g, ArrayView<float> dx)
    {
        LayerCheckPool("gpu maxpool backward", g, ("dy", dy.Length, false), ("argmax", argmax.Length, false), ("dx", dx.Length, true));
        if (g.InputLength == 0)
        {
            return;
        }

        Cached(ref _layerMaxPoolBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, LayerPoolDims, ArrayView<float>>(LayerMaxPool2dBackwardKernel))(
            (int)g.InputLength, dy, argmax, new LayerPoolDims(g), dx);
    }

    /// <summary>
    /// Average pooling: each output is the sum of the inputs under its window (row-major order) times 1/(KH·KW), the
    /// padding counting as zeros, with the CPU kernel's roundings.
    /// </summary>
    /// <exception cref="ArgumentException">A bad window, or a view whose length does not match its shape.</exception>
    public void AvgPool2d(ArrayView<float> x, PoolShape g, ArrayView<float> y)
    {
        LayerCheckPool("gpu avgpool", g, ("x", x.Length, true), ("y", y.Length, false));
        if (g.OutputLength == 0)
        {
            return;
        }

        Cached(ref _layerAvgPool, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, LayerPoolDims, float, ArrayView<float>>(LayerAvgPool2dKernel))(
            (int)g.OutputLength, x, new LayerPoolDims(g), 1f / (g.KH * g.KW), y);
    }

    /// <summary>
    /// Adjoint of <see cref="AvgPool2d"/>: every element of <paramref name="dx"/> is written with the sum, over the
    /// windows that cover it in increasing output order, of dy·1/(KH·KW) (the share that fell on padding is dropped).
    /// </summary>
    /// <exception cref="ArgumentException">A bad window, or a view whose length does not match its shape.</exception>
    public void AvgPool2dBackward(ArrayView<float> dy, PoolShape g, ArrayView<float> dx)
    {
        LayerCheckPool("gpu avgpool backward", g, ("dy", dy.Length, false), ("dx", dx.Length, true));
        if (g.InputLength == 0)
        {
            return;
        }

        Cached(ref _layerAvgPoolBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, LayerPoolDims, float, ArrayView<float>>(LayerAvgPool2dBackwardKernel))(
            (int)g.InputLength, dy, new LayerPoolDims(g), 1f / (g.KH * g.KW), dx);
    }

    // The window first: the expected lengths divide by the strides.
    private static void LayerCheckPool(string op, PoolShape g, params ReadOnlySpan<(string Name, long Length, bool IsInput)> views)
    {
        g.Validate(op);
        foreach (var (name, length, isInput) in views)
        {
            long expected = isInput ? g.InputLength : g.OutputLength;
            if (length != expected)
            {
                throw new ArgumentException($"{op}: {name} has {length} elements, expected {expected} for [{g.Planes},{g.H},{g.W}] → [{g.Planes},{g.OH},{g.OW}]");
            }
        }
    }

    /// <summary>The window geometry as plain fields, for the kernels.</summary>
    internal readonly struct LayerPoolDims(PoolShape g)
    {
        public readonly int H = g.H;
        public readonly int W = g.W;
        public readonly int KH = g.KH;
        public readonly int KW = g.KW;
        public readonly int SH = g.SH;
        public readonly int SW = g.SW;
        public readonly int PH = g.PH;
        public readonly int PW = g.PW;
        public readonly int OH = g.OH;
        public readonly int OW = g.OW;

        /// <summary>The input elements under output <paramref name="o"/>'s window, padding left out.</summary>
        public LayerPoolRange Window(int o)
        {
            LayerSplitPlane(o, OH, OW, out int plane, out int oy, out int ox);
            int top = (oy * SH) - PH, left = (ox * SW) - PW;
            return new LayerPoolRange(plane * H * W, W, Math.Max(top, 0), Math.Min(top + KH, H), Math.Max(left, 0), Math.Min(left + KW, W));
        }

        /// <summary>The outputs whose windows contain input <paramref name="i"/>, in increasing output order row by row.</summary>
        public LayerPoolRange Covering(int i)
        {
            LayerSplitPlane(i, H, W, out int plane, out int iy, out int ix);
            return new LayerPoolRange(plane * OH * OW, OW,
                FirstWindow(iy, KH, SH, PH), Math.Min(((iy + PH) / SH) + 1, OH),
                FirstWindow(ix, KW, SW, PW), Math.Min(((ix + PW) / SW) + 1, OW));
        }

        // The first window along one axis that covers input position p: the least o ≥ 0 with o·stride − pad + kernel > p.
        private static int FirstWindow(int p, int kernel, int stride, int pad)
        {
            int reach = p + pad - kernel + 1;
            return reach <= 0 ? 0 : (reach + stride - 1) / stride;
        }
    }

    /// <summary>
    /// A rectangle [Y0, Y1) × [X0, X1) of one plane, whose element (y, x) lies at Origin + y·Pitch + x of the whole
    /// view: the inputs under a window, or the outputs whose windows cover an input.
    /// </summary>
    internal readonly struct LayerPoolRange(int origin, int pitch, int y0, int y1, int x0, int x1)
    {
        public readonly int Origin = origin;
        public readonly int Pitch = pitch;
        public readonly int Y0 = y0;
        public readonly int Y1 = y1;
        public readonly int X0 = x0;
        public readonly int X1 = x1;

        /// <summary>The flat index of element (y, x).</summary>
        public int At(int y, int x) => Origin + (y * Pitch) + x;
    }

    // Splits a flat index over [planes, rows, cols] into its plane, row and column (two divisions).
    private static void LayerSplitPlane(int index, int rows, int cols, out int plane, out int row, out int col)
    {
        int perPlane = rows * cols;
        plane = index / perPlane;
        int r = index - (plane * perPlane);
        row = r / cols;
        col = r - (row * cols);
    }

    // One thread per output, with the CPU kernel's visiting order and rules: the window's first element is taken, a
    // later one only if larger or NaN, and the first NaN ends the search.
    [GpuKernel]
    internal static void LayerMaxPool2dKernel(Index1D o, ArrayView<float> x, LayerPoolDims d, ArrayView<float> y, ArrayView<int> argmax)
    {
        var w = d.Window(o);
        float best = 0f;
        int at = -1;
        bool nan = false;
        for (int iy = w.Y0; iy < w.Y1 && !nan; iy++)
        {
            for (int ix = w.X0; ix < w.X1 && !nan; ix++)
            {
                int i = w.At(iy, ix);
                float v = x[i];
                nan = float.IsNaN(v);
                if (at < 0 || v > best || nan)
                {
                    best = v;
                    at = i;
                }
            }
        }

        y[o] = best;
        argmax[o] = at;
    }

    // One thread per input element: the windows that can contain it, in increasing output order, each adding its dy
    // when its argmax names this element.
    [GpuKernel]
    internal static void LayerMaxPool2dBackwardKernel(Index1D i, ArrayView<float> dy, ArrayView<int> argmax, LayerPoolDims d, ArrayView<float> dx)
    {
        var w = d.Covering(i);
        float sum = 0f;
        for (int oy = w.Y0; oy < w.Y1; oy++)
        {
            for (int ox = w.X0; ox < w.X1; ox++)
            {
                int o = w.At(oy, ox);
                if (argmax[o] == i)
                {
                    sum += dy[o];
                }
            }
        }

        dx[i] = sum;
    }

    [GpuKernel]
    internal static void LayerAvgPool2dKernel(Index1D o, ArrayView<float> x, LayerPoolDims d, float scale, ArrayView<float> y)
    {
        var w = d.Window(o);
        float sum = 0f;
        for (int iy = w.Y0; iy < w.Y1; iy++)
        {
            for (int ix = w.X0; ix < w.X1; ix++)
            {
                sum += x[w.At(iy, ix)];
            }
        }

        y[o] = sum * scale;
    }

    // The CPU kernel scatters dy·scale into each window in increasing output order; gathering in that order, with the
    // product rounded on its own (never fused into the add), gives its bits.
    [GpuKernel]
    internal static void LayerAvgPool2dBackwardKernel(Index1D i, ArrayView<float> dy, LayerPoolDims d, float scale, ArrayView<float> dx)
    {
        var w = d.Covering(i);
        float sum = 0f;
        for (int oy = w.Y0; oy < w.Y1; oy++)
        {
            for (int ox = w.X0; ox < w.X1; ox++)
            {
                sum = LayerAdd(sum, LayerMul(dy[w.At(oy, ox)], scale));
            }
        }

        dx[i] = sum;
    }
}
