namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Marks an ILGPU kernel entry point, so the code-generation check can find every kernel and compile it to PTX
/// without a GPU.
/// </summary>
/// <param name="explicitlyGrouped">
/// True for kernels launched with an explicit group size (shared memory, barriers), which take no index parameter;
/// false for implicitly grouped kernels whose first parameter is their index.
/// </param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
internal sealed class GpuKernelAttribute(bool explicitlyGrouped = false) : Attribute
{
    /// <summary>Whether the kernel is launched with an explicit group size.</summary>
    public bool ExplicitlyGrouped { get; } = explicitlyGrouped;
}
