using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

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

/// <summary><see cref="IPairOps{TV}"/> for Vector512 (AVX-512; shuffles by permutes).</summary>
internal readonly unsafe struct Ops512 : IPairOps<Vector512<float>>
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

    public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Evens(Vector512<float> a, Vector512<float> b) =>
        Avx512F.IsSupported ? Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b) : Vector512.Create(Ops256.Evens(a.GetLower(), a.GetUpper()), Ops256.Evens(b.GetLower(), b.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Odds(Vector512<float> a, Vector512<float> b) =>
        Avx512F.IsSupported ? Avx512F.PermuteVar16x32x2(a, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b) : Vector512.Create(Ops256.Odds(a.GetLower(), a.GetUpper()), Ops256.Odds(b.GetLower(), b.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftUp(Vector512<float> v, float first) =>
        Avx512F.IsSupported ? Avx512F.AlignRight32(v.AsInt32(), Vector512.Create(first).AsInt32(), 15).AsSingle() : Vector512.Create(Ops256.ShiftUp(v.GetLower(), first), Ops256.ShiftUp(v.GetUpper(), v[7]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftDown(Vector512<float> v, float last) =>
        Avx512F.IsSupported ? Avx512F.AlignRight32(Vector512.Create(last).AsInt32(), v.AsInt32(), 1).AsSingle() : Vector512.Create(Ops256.ShiftDown(v.GetLower(), v[8]), Ops256.ShiftDown(v.GetUpper(), last));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> InterleaveLower(Vector512<float> a, Vector512<float> b) =>
        Avx512F.IsSupported ? Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b) : Vector512.Create(Ops256.InterleaveLower(a.GetLower(), b.GetLower()), Ops256.InterleaveUpper(a.GetLower(), b.GetLower()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> InterleaveUpper(Vector512<float> a, Vector512<float> b) =>
        Avx512F.IsSupported ? Avx512F.PermuteVar16x32x2(a, Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b) : Vector512.Create(Ops256.InterleaveLower(a.GetUpper(), b.GetUpper()), Ops256.InterleaveUpper(a.GetUpper(), b.GetUpper()));
}

/// <summary><see cref="IPairOps{TV}"/> for Vector256 (AVX2/FMA; shuffles within and across 128-bit lanes).</summary>
internal readonly unsafe struct Ops256 : IPairOps<Vector256<float>>
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

    public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;

    // Within each 128-bit lane the shuffle takes a's then b's even (odd) elements; the 64-bit permute puts a's pairs
    // before b's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Evens(Vector256<float> a, Vector256<float> b) =>
        Avx2.IsSupported ? Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle() : Vector256.Create(Ops128.Evens(a.GetLower(), a.GetUpper()), Ops128.Evens(b.GetLower(), b.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Odds(Vector256<float> a, Vector256<float> b) =>
        Avx2.IsSupported ? Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle() : Vector256.Create(Ops128.Odds(a.GetLower(), a.GetUpper()), Ops128.Odds(b.GetLower(), b.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftUp(Vector256<float> v, float first) =>
        Avx2.IsSupported ? Avx.Blend(Avx2.PermuteVar8x32(v, Vector256.Create(7, 0, 1, 2, 3, 4, 5, 6)), Vector256.Create(first), 0b0000_0001) : Vector256.Create(Ops128.ShiftUp(v.GetLower(), first), Ops128.ShiftUp(v.GetUpper(), v[3]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftDown(Vector256<float> v, float last) =>
        Avx2.IsSupported ? Avx.Blend(Avx2.PermuteVar8x32(v, Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0)), Vector256.Create(last), 0b1000_0000) : Vector256.Create(Ops128.ShiftDown(v.GetLower(), v[4]), Ops128.ShiftDown(v.GetUpper(), last));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> InterleaveLower(Vector256<float> a, Vector256<float> b) =>
        Avx.IsSupported ? Avx.Permute2x128(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b), 0x20) : Vector256.Create(Ops128.InterleaveLower(a.GetLower(), b.GetLower()), Ops128.InterleaveUpper(a.GetLower(), b.GetLower()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> InterleaveUpper(Vector256<float> a, Vector256<float> b) =>
        Avx.IsSupported ? Avx.Permute2x128(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b), 0x31) : Vector256.Create(Ops128.InterleaveLower(a.GetUpper(), b.GetUpper()), Ops128.InterleaveUpper(a.GetUpper(), b.GetUpper()));
}

/// <summary><see cref="IPairOps{TV}"/> for Vector128 (SSE, NEON; shuffles element by element elsewhere).</summary>
internal readonly unsafe struct Ops128 : IPairOps<Vector128<float>>
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

    public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Evens(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b10_00_10_00)
        : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipEven(a, b)
        : Vector128.Create(a[0], a[2], b[0], b[2]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Odds(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b11_01_11_01)
        : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipOdd(a, b)
        : Vector128.Create(a[1], a[3], b[1], b[3]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ShiftUp(Vector128<float> v, float first) =>
        Ssse3.IsSupported ? Ssse3.AlignRight(v.AsByte(), Vector128.Create(first).AsByte(), 12).AsSingle()
        : AdvSimd.IsSupported ? AdvSimd.ExtractVector128(Vector128.Create(first), v, 3)
        : Vector128.Create(first, v[0], v[1], v[2]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ShiftDown(Vector128<float> v, float last) =>
        Ssse3.IsSupported ? Ssse3.AlignRight(Vector128.Create(last).AsByte(), v.AsByte(), 4).AsSingle()
        : AdvSimd.IsSupported ? AdvSimd.ExtractVector128(v, Vector128.Create(last), 1)
        : Vector128.Create(v[1], v[2], v[3], last);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> InterleaveLower(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.UnpackLow(a, b)
        : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(a, b)
        : Vector128.Create(a[0], b[0], a[1], b[1]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> InterleaveUpper(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.UnpackHigh(a, b)
        : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipHigh(a, b)
        : Vector128.Create(a[2], b[2], a[3], b[3]);
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

/// <summary>
/// Subtraction and the even/odd shuffles the Winograd transforms need: a row of 2·Count floats split into its even
/// and odd elements, and two vectors merged back element by element. Every lane is moved, never computed, so the
/// shuffles cost no bits.
/// </summary>
/// <typeparam name="TV">The vector type.</typeparam>
internal interface IPairOps<TV> : IVectorOps<TV>
    where TV : struct
{
    /// <summary>a − b.</summary>
    static abstract TV Sub(TV a, TV b);

    /// <summary>Elements 0, 2, 4, … of the 2·Count floats a then b.</summary>
    static abstract TV Evens(TV a, TV b);

    /// <summary>Elements 1, 3, 5, … of the 2·Count floats a then b.</summary>
    static abstract TV Odds(TV a, TV b);

    /// <summary><paramref name="first"/>, v₀, v₁, …, v₍Count−2₎: the lanes moved up by one.</summary>
    static abstract TV ShiftUp(TV v, float first);

    /// <summary>v₁, v₂, …, v₍Count−1₎, <paramref name="last"/>: the lanes moved down by one.</summary>
    static abstract TV ShiftDown(TV v, float last);

    /// <summary>a₀ b₀ a₁ b₁ … over the lower halves of a and b.</summary>
    static abstract TV InterleaveLower(TV a, TV b);

    /// <summary>a₀ b₀ a₁ b₁ … over the upper halves of a and b.</summary>
    static abstract TV InterleaveUpper(TV a, TV b);
}
