namespace SparseNet.Kernels;

/// <summary>Facts about the kernels this process runs.</summary>
public static class KernelInfo
{
    /// <summary>Widest SIMD width (in floats) that is hardware accelerated here.</summary>
    public static int VectorWidth =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? 16 :
        System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 8 :
        System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? 4 : 1;
}
