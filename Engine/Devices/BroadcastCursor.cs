namespace SparseNet.Engine.Devices;

/// <summary>
/// Walks every index of a shape in row-major order while keeping the flat offsets into two tensors broadcast to
/// that shape (stride 0 along their broadcast axes): the one odometer behind the general broadcasting ops.
/// </summary>
internal struct BroadcastCursor
{
    private readonly int[] _shape;
    private readonly int[] _stridesA;
    private readonly int[] _stridesB;
    private readonly int[] _index;

    /// <summary>Starts at index 0 of <paramref name="shape"/>; a tensor not needed gets the strides of the other.</summary>
    public BroadcastCursor(int[] shape, int[] stridesA, int[]? stridesB = null)
    {
        _shape = shape;
        _stridesA = stridesA;
        _stridesB = stridesB ?? stridesA;
        _index = new int[shape.Length];
        A = 0;
        B = 0;
    }

    /// <summary>Offset into the first tensor.</summary>
    public int A { get; private set; }

    /// <summary>Offset into the second tensor.</summary>
    public int B { get; private set; }

    /// <summary>Moves to the next index in row-major order.</summary>
    public void Next()
    {
        for (int d = _shape.Length - 1; d >= 0; d--)
        {
            _index[d]++;
            A += _stridesA[d];
            B += _stridesB[d];
            if (_index[d] < _shape[d])
            {
                return;
            }

            A -= _stridesA[d] * _shape[d];
            B -= _stridesB[d] * _shape[d];
            _index[d] = 0;
        }
    }
}
