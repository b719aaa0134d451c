using ILGPU;

namespace SparseNet.Kernels.Gpu;

/// <summary>The sizes, strides and flags of one batched SGEMM, passed to the kernel by value.</summary>
internal readonly struct GemmSgemmArgs(int m, int n, int k, int lda, int ldb, int ldc, long strideA, long strideB, long strideC, int batch, bool transA, bool transB, bool accumulate, bool masked)
{
    public readonly int M = m;
    public readonly int N = n;
    public readonly int K = k;
    public readonly int Lda = lda;
    public readonly int Ldb = ldb;
    public readonly int Ldc = ldc;
    public readonly long StrideA = strideA;
    public readonly long StrideB = strideB;
    public readonly long StrideC = strideC;
    public readonly int Batch = batch;

    // Flags as ints: kernel parameters are kept to plain 4- and 8-byte fields.
    public readonly int TransA = transA ? 1 : 0;
    public readonly int TransB = transB ? 1 : 0;
    public readonly int Accumulate = accumulate ? 1 : 0;
    public readonly int Masked = masked ? 1 : 0;
}

/// <summary>
/// A strided matrix operand, line-major (element (line, depth) at line·ld + depth) or depth-major (depth·ld + line),
/// problem z starting z·stride elements in, optionally multiplied by a mask of the same layout as it is loaded. Each
/// thread keeps the offset of its first element and advances it by one depth tile at a time.
/// </summary>
internal struct GemmStridedLoader(ArrayView<float> data, ArrayView<float> mask, bool masked, int ld, long stride, bool lineMajor) : IGemmLoader
{
    private readonly ArrayView<float> _data = data;
    private readonly ArrayView<float> _mask = mask;
    private readonly bool _masked = masked;
    private readonly int _ld = ld;
    private readonly long _stride = stride;
    private readonly bool _lineMajor = lineMajor;
    private long _first, _step, _advance;
    private int _depth, _depthStep, _depthEnd, _inside;

    public readonly bool AlongK => _lineMajor;

    public void Start(int z, int line, int depth, int lines, int depthEnd)
    {
        int lineStep = _lineMajor ? 32 : 0;
        _depthStep = _lineMajor ? 0 : 2;

        // Element e sits e·_step past element 0 in either layout: 32 rows of ld, or 2 depth rows of ld. Keeping one
        // offset instead of four saves registers in the kernel's hot loop.
        _first = (z * _stride) + (_lineMajor ? ((long)line * _ld) + depth : ((long)depth * _ld) + line);
        _step = (_lineMajor ? 32L : 2L) * _ld;
        _advance = _lineMajor ? GemmTiles.BlockK : (long)GemmTiles.BlockK * _ld;
        _inside = (line < lines ? 1 : 0) | (line + lineStep < lines ? 2 : 0) | (line + (2 * lineStep) < lines ? 4 : 0) | (line + (3 * lineStep) < lines ? 8 : 0);
        _depth = depth;
        _depthEnd = depthEnd;
    }

    public readonly float Load(int e)
    {
        if ((_inside & (1 << e)) == 0 || _depth + (e * _depthStep) >= _depthEnd)
        {
            return 0f;
        }

        long o = _first + (e * _step);
        float v = _data[o];
        return _masked ? v * _mask[o] : v;
    }

    public void Next()
    {
        _first += _advance;
        _depth += GemmTiles.BlockK;
    }
}
/// <summary>A strided C, problem z starting z·stride elements in, overwritten or added to.</summary>
internal readonly struct GemmStridedStore(ArrayView<float> c, int ldc, long stride, bool accumulate) : IGemmStore
{
    private readonly ArrayView<float> _c = c;
    private readonly int _ldc = ldc;
    private readonly long _stride = stride;
    private readonly bool _accumulate = accumulate;

    public void Store(int z, int row, int column, float value)
    {
        long i = (z * _stride) + ((long)row * _ldc) + column;
        _c[i] = _accumulate ? _c[i] + value : value;
    }
}
