using System.Reflection;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SparseNet.Kernels.Gpu;

namespace SparseNet.Tests.Kernels.Gpu;

/// <summary>
/// Every GPU kernel compiles to PTX through ILGPU's PTX backend, without a GPU, so a CUDA code-generation failure fails
/// the tests on any machine.
/// </summary>
public class PtxCodeGenerationTests
{
    private static IEnumerable<MethodInfo> KernelMethods() =>
        typeof(GpuKernels).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<GpuKernelAttribute>() is not null)
            .OrderBy(m => m.DeclaringType!.Name + "." + m.Name, StringComparer.Ordinal);

    private static IEnumerable<TestCaseData> Kernels() =>
        KernelMethods().Select(m => new TestCaseData(m).SetArgDisplayNames(m.Name));

    [Test]
    public void TheKernelSetHasKernels() =>
        Assert.That(KernelMethods().Count(), Is.GreaterThan(0));

    [TestCaseSource(nameof(Kernels))]
    public void CompilesToPtx_ForTheH100sArchitecture(MethodInfo method)
    {
        var attribute = method.GetCustomAttribute<GpuKernelAttribute>()!;
        var backend = new PTXBackend(TestAccelerators.Context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, nvvmAPI: null);
        var entry = attribute.ExplicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default(KernelSpecialization));
        // ILGPU targets the newest architecture the PTX ISA it emits knows (sm_80 for ISA 8.0); the driver JITs it
        // forward for newer cards.
        Assert.That(compiled.PTXAssembly, Does.Contain(".visible .entry").And.Contain(".target sm_"));

        // A call ILGPU could not lower (MathF.FusedMultiplyAdd in 1.5.3, for one) comes out as an undefined external
        // function, and the driver would refuse to load the module on a GPU.
        Assert.That(compiled.PTXAssembly, Does.Not.Contain(".extern .func"), "the kernel calls a function PTX does not define");
    }
}
