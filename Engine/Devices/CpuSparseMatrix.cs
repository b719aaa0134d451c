using SparseNet.Kernels.Cpu;

namespace SparseNet.Engine.Devices;

/// <summary>
/// The CPU's compressed weight: the mask's CSR structure with the kept values, and its transpose (what the input
/// gradient runs on), made on the first backward pass and refreshed only when the values have changed since.
/// </summary>
internal sealed class CpuSparseMatrix(SparseRows rows, Device device) : SparseMatrix
{
    private SparseRows? _transposed;
    private bool _transposedStale = true;
    private float[]? _gradValues;

    /// <summary>The structure and values, row by row.</summary>
    public SparseRows Matrix { get; } = rows;

    /// <inheritdoc />
    public override int Rows => Matrix.Rows;

    /// <inheritdoc />
    public override int Columns => Matrix.Columns;

    /// <inheritdoc />
    public override int Count => Matrix.Count;

    /// <inheritdoc />
    public override Device Device { get; } = device;

    /// <summary>The weight gradient at the kept positions, in entry order, as the last backward pass computed it.</summary>
    public float[] GradValues => _gradValues ??= new float[Count];

    /// <summary>The dense gradient whose kept values wait in <see cref="GradValues"/> (<see cref="DeferKept"/>), if any.</summary>
    private CpuStorage? _deferredGrad;

    /// <summary>
    /// Leaves <see cref="GradValues"/> to be written at the kept positions of <paramref name="grad"/> (which holds zeros
    /// at every other position already) when the gradient is next read: a training step whose optimizer reads the
    /// compressed values never writes the dense gradient.
    /// </summary>
    public void DeferKept(CpuStorage grad)
    {
        grad.Defer(_writeKept ??= dense => Matrix.WriteKept(GradValues, dense));
        _deferredGrad = grad;
    }

    /// <summary>The deferred write of <see cref="DeferKept"/>, made once per matrix rather than once per step.</summary>
    private Action<float[]>? _writeKept;

    /// <summary>
    /// Makes the deferred write of the last gradient before a backward pass overwrites <see cref="GradValues"/>; not
    /// when that pass writes its kept values into the same buffer (<paramref name="next"/>), which replaces them.
    /// </summary>
    public void SettleGrad(CpuStorage? next)
    {
        if (_deferredGrad is { } pending && !ReferenceEquals(pending, next) && pending.HasDeferredWrite)
        {
            _ = pending.Data;
        }

        _deferredGrad = null;
    }

    /// <summary>Loads the kept values from a dense [rows, columns] array.</summary>
    public void Load(ReadOnlySpan<float> dense)
    {
        Matrix.LoadValues(dense);
        _transposedStale = true;
    }

    /// <summary>The values, for an optimizer step to write the new kept weights into as it updates them (the transpose's go stale).</summary>
    public Span<float> StepValues()
    {
        _transposedStale = true;
        return Matrix.Values;
    }

    /// <summary>The transposed matrix, its values as they are (the structure and source slots are what a first layer's weight gradient reads).</summary>
    public SparseRows TransposedStructure() => _transposed ??= Matrix.Transpose();

    /// <summary>The transposed matrix with the current values.</summary>
    public SparseRows Transposed()
    {
        if (_transposed is null)
        {
            _transposed = Matrix.Transpose();
        }
        else if (_transposedStale)
        {
            _transposed.LoadValuesFrom(Matrix);
        }

        _transposedStale = false;
        return _transposed;
    }
}
