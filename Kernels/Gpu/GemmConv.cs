using ILGPU;
using SparseNet.Kernels.Cpu;

namespace SparseNet.Kernels.Gpu;

/// <summary>The sizes of one convolution, passed to the kernels by value, with the divisors that split flat indices.</summary>
internal readonly struct GemmConvGeometry
{
    public readonly int N, C, H, W, O, KH, KW, SH, SW, PH, PW, OH, OW;

    /// <summary>OH·OW.</summary>
    public readonly int Positions;

    /// <summary>N·OH·OW: the columns of the forward product.</summary>
    public readonly int Columns;

    /// <summary>KH·KW.</summary>
    public readonly int KernelArea;

    /// <summary>C·KH·KW.</summary>
    public readonly int Taps;

    /// <summary>H·W.</summary>
    public readonly int InputPixels;

    /// <summary>Flags of the forward epilogue (ints: kernel parameters keep to plain fields).</summary>
    public readonly int HasBias, Relu;

    public readonly GemmDivisor ByKernelArea, ByKW, ByPositions, ByOW, ByInputPixels, ByW, BySH, BySW;

    public GemmConvGeometry(ConvShape s, bool hasBias, bool relu)
    {
        (N, C, H, W, O, KH, KW, SH, SW, PH, PW) = (s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW);
        (OH, OW, Positions, KernelArea, Taps, InputPixels) = (s.OH, s.OW, s.Positions, s.KH * s.KW, s.Taps, s.H * s.W);
        Columns = s.N * s.Positions;
        HasBias = hasBias ? 1 : 0;
        Relu = relu ? 1 : 0;
        ByKernelArea = new GemmDivisor(KernelArea);
        ByKW = new GemmDivisor(KW);
        ByPositions = new GemmDivisor(Positions);
        ByOW = new GemmDivisor(OW);
        ByInputPixels = new GemmDivisor(InputPixels);
        ByW = new GemmDivisor(W);
        BySH = new GemmDivisor(SH);
        BySW = new GemmDivisor(SW);
    }

    /// <summary>The offset of (image, o, position) in an output [N,O,OH,OW], for column = image·OH·OW + position.</summary>
    public long OutputIndex(int o, int column)
    {
        int img = ByPositions.Divide(column), pos = column - (img * Positions);
        return ((((long)img * O) + o) * Positions) + pos;
    }
}

/// <summary>
/// Forward B: the unfolded input x̂ [taps × N·OH·OW] read as [columns × taps], across k: a thread's column is fixed,
/// its image and window corner computed once; each tap is split into (channel, ky, kx) as it is loaded.
/// </summary>
internal struct GemmConvUnfoldedColumns(ArrayView<float> x, GemmConvGeometry g) : IGemmLoader
{
    private readonly ArrayView<float> _x = x;
    private readonly GemmConvGeometry _g = g;
    private long _image;
    private int _top, _left, _depth, _depthEnd;
    private bool _inside;

    public readonly bool AlongK => false;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        _inside = line < lines;
        int img = _inside ? _g.ByPositions.Divide(line) : 0, pos = line - (img * _g.Positions);
        int oy = _g.ByOW.Divide(pos), ox = pos - (oy * _g.OW);
        _image = (long)img * _g.C * _g.InputPixels;
        _top = (oy * _g.SH) - _g.PH;
        _left = (ox * _g.SW) - _g.PW;
        _depth = depth;
        _depthEnd = depthEnd;
    }

    public readonly float Load(int e)
    {
        int tap = _depth + (2 * e);
        if (!_inside || tap >= _depthEnd)
        {
            return 0f;
        }

        int c = _g.ByKernelArea.Divide(tap), r = tap - (c * _g.KernelArea);
        int ky = _g.ByKW.Divide(r), kx = r - (ky * _g.KW);
        int iy = _top + ky, ix = _left + kx;
        return (uint)iy < (uint)_g.H && (uint)ix < (uint)_g.W ? _x[_image + ((long)c * _g.InputPixels) + (iy * _g.W) + ix] : 0f;
    }

    public void Next() => _depth += GemmTiles.BlockK;
}

/// <summary>Input-gradient A: wᵀ [C × O·KH·KW] with wᵀ(c, (o, ky, kx)) = w[o, c, ky, kx], along k.</summary>
internal struct GemmConvTransposedWeights(ArrayView<float> w, GemmConvGeometry g) : IGemmLoader
{
    private readonly ArrayView<float> _w = w;
    private readonly GemmConvGeometry _g = g;
    private int _line, _lines, _depth, _depthEnd;
    private long _depthOffset;

    public readonly bool AlongK => true;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        (_line, _lines, _depth, _depthEnd) = (line, lines, depth, depthEnd);
        Locate();
    }

    public readonly float Load(int e)
    {
        int c = _line + (32 * e);
        return c < _lines && _depth < _depthEnd ? _w[_depthOffset + (c * _g.KernelArea)] : 0f;
    }

    public void Next()
    {
        _depth += GemmTiles.BlockK;
        Locate();
    }

    // Every element of a thread shares its depth (o, ky, kx): split it once per tile.
    private void Locate()
    {
        int d = _depth < _depthEnd ? _depth : 0;
        int o = _g.ByKernelArea.Divide(d), r = d - (o * _g.KernelArea);
        _depthOffset = ((long)o * _g.C * _g.KernelArea) + r;
    }
}

/// <summary>
/// Input-gradient B: for input pixel (image, h, x) and tap (o, ky, kx), dy[image, o, (h + PH − ky) / SH,
/// (x + PW − kx) / SW] where both divide exactly and land inside the output, else 0 (the col2im as a gather), read as
/// [N·H·W × O·KH·KW], across k.
/// </summary>
internal struct GemmConvGatheredGradient(ArrayView<float> dy, GemmConvGeometry g) : IGemmLoader
{
    private readonly ArrayView<float> _dy = dy;
    private readonly GemmConvGeometry _g = g;
    private long _image;
    private int _row, _column, _depth, _depthEnd;
    private bool _inside;

    public readonly bool AlongK => false;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        _inside = line < lines;
        int img = _inside ? _g.ByInputPixels.Divide(line) : 0, pixel = line - (img * _g.InputPixels);
        int h = _g.ByW.Divide(pixel), x = pixel - (h * _g.W);
        _image = (long)img * _g.O * _g.Positions;
        _row = h + _g.PH;
        _column = x + _g.PW;
        _depth = depth;
        _depthEnd = depthEnd;
    }

    public readonly float Load(int e)
    {
        int d = _depth + (2 * e);
        if (!_inside || d >= _depthEnd)
        {
            return 0f;
        }

        int o = _g.ByKernelArea.Divide(d), r = d - (o * _g.KernelArea);
        int ky = _g.ByKW.Divide(r), kx = r - (ky * _g.KW);
        int ny = _row - ky, nx = _column - kx;
        if (ny < 0 || nx < 0)
        {
            return 0f;
        }

        int oy = _g.BySH.Divide(ny), ox = _g.BySW.Divide(nx);
        return oy * _g.SH == ny && ox * _g.SW == nx && oy < _g.OH && ox < _g.OW
            ? _dy[_image + ((long)o * _g.Positions) + (oy * _g.OW) + ox]
            : 0f;
    }

    public void Next() => _depth += GemmTiles.BlockK;
}

/// <summary>Weight-gradient A: dy read as [O × N·OH·OW], along k; the column is split once per tile.</summary>
internal struct GemmConvGradientRows(ArrayView<float> dy, GemmConvGeometry g) : IGemmLoader
{
    private readonly ArrayView<float> _dy = dy;
    private readonly GemmConvGeometry _g = g;
    private int _line, _lines, _depth, _depthEnd;
    private long _columnOffset;

    public readonly bool AlongK => true;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        (_line, _lines, _depth, _depthEnd) = (line, lines, depth, depthEnd);
        Locate();
    }

    public readonly float Load(int e)
    {
        int o = _line + (32 * e);
        return o < _lines && _depth < _depthEnd ? _dy[_columnOffset + ((long)o * _g.Positions)] : 0f;
    }

    public void Next()
    {
        _depth += GemmTiles.BlockK;
        Locate();
    }

    private void Locate() => _columnOffset = _g.OutputIndex(0, _depth < _depthEnd ? _depth : 0);
}

/// <summary>
/// Weight-gradient B: the unfolded input read as [taps × N·OH·OW], along k. A thread's 4 taps are fixed: their
/// (channel, ky, kx) are split once; each tile splits its column into image and window corner once.
/// </summary>
internal struct GemmConvUnfoldedTaps(ArrayView<float> x, GemmConvGeometry g) : IGemmLoader
{
    private readonly ArrayView<float> _x = x;
    private readonly GemmConvGeometry _g = g;
    private int _o0, _o1, _o2, _o3, _y0, _y1, _y2, _y3, _x0, _x1, _x2, _x3;
    private int _inside, _depth, _depthEnd, _top, _left;
    private long _corner;

    public readonly bool AlongK => true;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        _inside = 0;
        Tap(line, lines, 1, out _o0, out _y0, out _x0);
        Tap(line + 32, lines, 2, out _o1, out _y1, out _x1);
        Tap(line + 64, lines, 4, out _o2, out _y2, out _x2);
        Tap(line + 96, lines, 8, out _o3, out _y3, out _x3);
        _depth = depth;
        _depthEnd = depthEnd;
        Locate();
    }

    public readonly float Load(int e)
    {
        if ((_inside & (1 << e)) == 0 || _depth >= _depthEnd)
        {
            return 0f;
        }

        int ky = e == 0 ? _y0 : e == 1 ? _y1 : e == 2 ? _y2 : _y3;
        int kx = e == 0 ? _x0 : e == 1 ? _x1 : e == 2 ? _x2 : _x3;
        int offset = e == 0 ? _o0 : e == 1 ? _o1 : e == 2 ? _o2 : _o3;
        int iy = _top + ky, ix = _left + kx;
        return (uint)iy < (uint)_g.H && (uint)ix < (uint)_g.W ? _x[_corner + offset] : 0f;
    }

    public void Next()
    {
        _depth += GemmTiles.BlockK;
        Locate();
    }

    // A tap's offset from its window corner in an image (c·H·W + ky·W + kx) and its (ky, kx).
    private void Tap(int tap, int taps, int bit, out int offset, out int ky, out int kx)
    {
        bool inside = tap < taps;
        int c = inside ? _g.ByKernelArea.Divide(tap) : 0, r = inside ? tap - (c * _g.KernelArea) : 0;
        ky = _g.ByKW.Divide(r);
        kx = r - (ky * _g.KW);
        offset = (c * _g.InputPixels) + (ky * _g.W) + kx;
        _inside |= inside ? bit : 0;
    }

    private void Locate()
    {
        int column = _depth < _depthEnd ? _depth : 0;
        int img = _g.ByPositions.Divide(column), pos = column - (img * _g.Positions);
        int oy = _g.ByOW.Divide(pos), ox = pos - (oy * _g.OW);
        _top = (oy * _g.SH) - _g.PH;
        _left = (ox * _g.SW) - _g.PW;
        _corner = ((long)img * _g.C * _g.InputPixels) + ((long)_top * _g.W) + _left;
    }
}

/// <summary>Forward C: y [N,O,OH,OW] from C [O × N·OH·OW], plus the bias, then the ReLU (max(·, 0) as Math.Max: NaN
/// stays NaN, −0 gives +0).</summary>
internal readonly struct GemmConvOutputStore(ArrayView<float> y, ArrayView<float> bias, GemmConvGeometry g) : IGemmStore
{
    private readonly ArrayView<float> _y = y;
    private readonly ArrayView<float> _bias = bias;
    private readonly GemmConvGeometry _g = g;

    public void Store(int z, int row, int column, float value)
    {
        if (_g.HasBias != 0)
        {
            value += _bias[row];
        }

        if (_g.Relu != 0 && value <= 0f)
        {
            value = 0f;
        }

        _y[_g.OutputIndex(row, column)] = value;
    }
}

/// <summary>Input-gradient C: dx [N,C,H,W] from C [C × N·H·W].</summary>
internal readonly struct GemmConvInputGradStore(ArrayView<float> dx, GemmConvGeometry g) : IGemmStore
{
    private readonly ArrayView<float> _dx = dx;
    private readonly GemmConvGeometry _g = g;

    public void Store(int z, int row, int column, float value)
    {
        int img = _g.ByInputPixels.Divide(column), pixel = column - (img * _g.InputPixels);
        _dx[((((long)img * _g.C) + row) * _g.InputPixels) + pixel] = value;
    }
}

/// <summary>Weight-gradient C: dw [O, taps], or slice z of the split workspace.</summary>
internal readonly struct GemmConvWeightGradStore(ArrayView<float> output, GemmConvGeometry g) : IGemmStore
{
    private readonly ArrayView<float> _output = output;
    private readonly GemmConvGeometry _g = g;

    public void Store(int z, int row, int column, float value) =>
        _output[((long)z * _g.O * _g.Taps) + ((long)row * _g.Taps) + column] = value;
}
