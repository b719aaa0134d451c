using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>An elementwise function of one float, at one vector width <typeparamref name="TV"/>.</summary>
/// <typeparam name="TV">The vector type (or <see cref="float"/> for the scalar form).</typeparam>
internal interface IUnaryOperator<TV>
    where TV : struct
{
    /// <summary>The function, lane by lane.</summary>
    static abstract TV Invoke(TV x);
}

/// <summary>
/// An elementwise function of one float at every width the loop drivers run: scalar, Vector128, Vector256 and
/// Vector512. Each width gives, lane by lane, exactly the bits of the scalar form, so a result never depends on
/// the machine's width or on whether an element fell in a vector or in a short input.
/// </summary>
internal interface IUnaryOperator :
    IUnaryOperator<float>, IUnaryOperator<Vector128<float>>, IUnaryOperator<Vector256<float>>, IUnaryOperator<Vector512<float>>
{
}
