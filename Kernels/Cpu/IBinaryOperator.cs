using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>An elementwise function of two floats, at one vector width <typeparamref name="TV"/>.</summary>
/// <typeparam name="TV">The vector type (or <see cref="float"/> for the scalar form).</typeparam>
internal interface IBinaryOperator<TV>
    where TV : struct
{
    /// <summary>The function, lane by lane.</summary>
    static abstract TV Invoke(TV x, TV y);
}

/// <summary>
/// An elementwise function of two floats at every width the loop drivers run: scalar, Vector128, Vector256 and
/// Vector512. Each width gives, lane by lane, exactly the bits of the scalar form.
/// </summary>
internal interface IBinaryOperator :
    IBinaryOperator<float>, IBinaryOperator<Vector128<float>>, IBinaryOperator<Vector256<float>>, IBinaryOperator<Vector512<float>>
{
}
