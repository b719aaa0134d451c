namespace SparseNet.Engine.Devices;

/// <summary>
/// A backend whose buffers are costly to allocate (device memory) keeps a pool of them: <see cref="TensorArena"/>
/// rents every op output of a scope from it and returns them all when the scope ends, so device memory is reused and
/// released at known points rather than when the garbage collector runs.
/// </summary>
internal interface IStoragePool
{
    /// <summary>A buffer of exactly <paramref name="length"/> elements, contents unspecified.</summary>
    Storage Rent(int length);

    /// <summary>Takes a rented buffer back; every later access to <paramref name="storage"/> throws.</summary>
    void Return(Storage storage);
}
