using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>
/// The float vector operations the kernels need, at one width. A kernel written once as a generic method over
/// <c>TOps : struct, IVectorOps&lt;TV&gt;</c> is specialised by the JIT per width (Vector512, Vector256,
/// Vector128) with every call inlined, so one loop body serves every width instead of a copy per width.
/// </summary>
/// <typeparam name="TV">The vector type.</typeparam>
internal unsafe interface IVectorOps<TV>
    where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TV Create(float value);

    /// <summary>Loads <see cref="Count"/> floats from <paramref name="source"/> + <paramref name="index"/>.</summary>
    static abstract TV Load(ref float source, int index);

    /// <summary>Loads <see cref="Count"/> floats from <paramref name="source"/>.</summary>
    static abstract TV Load(float* source);

    /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/> + <paramref name="index"/>.</summary>
    static abstract void Store(TV value, ref float destination, int index);

    /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/>.</summary>
    static abstract void Store(TV value, float* destination);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);

    /// <summary>a + b.</summary>
    static abstract TV Add(TV a, TV b);

    /// <summary>a · b.</summary>
    static abstract TV Mul(TV a, TV b);

    /// <summary>a / b.</summary>
    static abstract TV Div(TV a, TV b);

    /// <summary>√a.</summary>
    static abstract TV Sqrt(TV a);

    /// <summary>The sum of the lanes.</summary>
    static abstract float Sum(TV a);

    /// <summary>max(a, 0) lane by lane as <see cref="Math.Max(float, float)"/> (NaN stays NaN, −0 gives +0): ReLU.</summary>
    static abstract TV Relu(TV a);

    /// <summary>a where <paramref name="condition"/> &gt; 0, else +0 (NaN in the condition gives +0): ReLU's gradient.</summary>
    static abstract TV WherePositive(TV a, TV condition);

    /// <summary>One vector from two half-vectors of consecutive floats: the lower lanes at lo, the upper at hi.</summary>
    static abstract TV LoadHalves(float* lo, float* hi);
}

/// <summary><see cref="IVectorOps{TV}"/> for Vector512 (AVX-512).</summary>
internal readonly unsafe struct Ops512 : IVectorOps<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Create(float value) => Vector512.Create(value);

    public static Vector512<float> Load(ref float source, int index) => Vector512.LoadUnsafe(ref source, (nuint)index);

    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    public static void Store(Vector512<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    public static void Store(Vector512<float> value, float* destination) => value.Store(destination);

    public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;

    public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;

    public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);

    public static float Sum(Vector512<float> a) => Vector512.Sum(a);

    public static Vector512<float> Relu(Vector512<float> a) => Vector512.Max(a, Vector512<float>.Zero);

    public static Vector512<float> WherePositive(Vector512<float> a, Vector512<float> condition) => a & Vector512.GreaterThan(condition, Vector512<float>.Zero);

    public static Vector512<float> LoadHalves(float* lo, float* hi) => Vector512.Create(Vector256.Load(lo), Vector256.Load(hi));
}

/// <summary><see cref="IVectorOps{TV}"/> for Vector256 (AVX2/FMA).</summary>
internal readonly unsafe struct Ops256 : IVectorOps<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Create(float value) => Vector256.Create(value);

    public static Vector256<float> Load(ref float source, int index) => Vector256.LoadUnsafe(ref source, (nuint)index);

    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    public static void Store(Vector256<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    public static void Store(Vector256<float> value, float* destination) => value.Store(destination);

    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

    public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

    public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);

    public static float Sum(Vector256<float> a) => Vector256.Sum(a);

    public static Vector256<float> Relu(Vector256<float> a) => Vector256.Max(a, Vector256<float>.Zero);

    public static Vector256<float> WherePositive(Vector256<float> a, Vector256<float> condition) => a & Vector256.GreaterThan(condition, Vector256<float>.Zero);

    public static Vector256<float> LoadHalves(float* lo, float* hi) => Vector256.Create(Vector128.Load(lo), Vector128.Load(hi));
}

/// <summary><see cref="IVectorOps{TV}"/> for Vector128 (SSE, NEON).</summary>
internal readonly unsafe struct Ops128 : IVectorOps<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Create(float value) => Vector128.Create(value);

    public static Vector128<float> Load(ref float source, int index) => Vector128.LoadUnsafe(ref source, (nuint)index);

    public static Vector128<float> Load(float* source) => Vector128.Load(source);

    public static void Store(Vector128<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);

    public static void Store(Vector128<float> value, float* destination) => value.Store(destination);

    public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);

    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;

    public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;

    public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);

    public static float Sum(Vector128<float> a) => Vector128.Sum(a);

    public static Vector128<float> Relu(Vector128<float> a) => Vector128.Max(a, Vector128<float>.Zero);

    public static Vector128<float> WherePositive(Vector128<float> a, Vector128<float> condition) => a & Vector128.GreaterThan(condition, Vector128<float>.Zero);

    public static Vector128<float> LoadHalves(float* lo, float* hi) => Vector128.Create(Vector64.Load(lo), Vector64.Load(hi));
}

/// <summary><see cref="IVectorOps{TV}"/> for one float at a time (no SIMD).</summary>
internal readonly unsafe struct OpsScalar : IVectorOps<float>
{
    public static int Count => 1;

    public static float Create(float value) => value;

    public static float Load(ref float source, int index) => Unsafe.Add(ref source, index);

    public static float Load(float* source) => *source;

    public static void Store(float value, ref float destination, int index) => Unsafe.Add(ref destination, index) = value;

    public static void Store(float value, float* destination) => *destination = value;

    public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    public static float Add(float a, float b) => a + b;

    public static float Mul(float a, float b) => a * b;

    public static float Div(float a, float b) => a / b;

    public static float Sqrt(float a) => MathF.Sqrt(a);

    public static float Sum(float a) => a;

    public static float Relu(float a) => Math.Max(a, 0f);

    public static float WherePositive(float a, float condition) => condition > 0f ? a : 0f;

    public static float LoadHalves(float* lo, float* hi) => *lo;
}
