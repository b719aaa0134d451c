using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.GpuCheck;

namespace SparseNet.Tests.Engine.Ilgpu;

/// <summary>
/// The ILGPU backend through the tensor API on ILGPU's CPU accelerator (the device <c>ilgpu-cpu</c>), against the CPU
/// backend: every backend primitive with its gradients (<see cref="BackendChecks"/>, which <c>sparsenet-gpu-check</c>
/// runs on a GPU), device errors and moving modules.
/// </summary>
public class IlgpuDeviceTests
{
    private static Device Gpu => AcceleratorDevices.TryGet("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is always present");

    private static IEnumerable<BackendCheck> Checks() => BackendChecks.Ops();

    [TestCaseSource(nameof(Checks))]
    public void Op_AndItsGradients_MatchTheCpu(BackendCheck check)
    {
        var outcome = BackendChecks.Run(check, Gpu);
        Assert.That(outcome.Passed, $"{check.Name}: worst error {outcome.WorstRatio:G3} × tolerance at {outcome.Detail}");
    }

    [Test]
    public void ThresholdSelection_IsExactlyTheCpus()
    {
        var outcome = BackendChecks.Threshold(Gpu);
        Assert.That(outcome.Passed, outcome.Detail);
    }

    [Test]
    public void OptimizerSteps_OnMaskedParameters_MatchTheCpu()
    {
        foreach (var outcome in BackendChecks.Optimizers(Gpu))
        {
            Assert.That(outcome.Passed, $"{outcome.Name}: {outcome.Detail}");
        }
    }

    [Test]
    public void TheDeviceIsRegisteredAndDescribesItsAccelerator()
    {
        Assert.That(Device.Get("ilgpu-cpu"), Is.SameAs(Gpu));
        Assert.That(Gpu.Description, Does.StartWith("ilgpu-cpu: "));
        Assert.That(AcceleratorDevices.Resolve("ilgpu-cpu"), Is.SameAs(Gpu));
    }

    [Test]
    public void ADeviceTheMachineLacks_IsAnErrorNamingIt()
    {
        if (AcceleratorDevices.TryGet("cuda") is not null)
        {
            Assert.Ignore("this machine has a CUDA GPU");
        }

        var ex = Assert.Throws<DeviceUnavailableException>(() => AcceleratorDevices.Resolve("cuda"));
        Assert.That(ex!.Message, Does.Contain("cuda").And.Contain("--device cpu"));
        Assert.Throws<DeviceUnavailableException>(() => AcceleratorDevices.Resolve("tpu"));
    }

    [Test]
    public void OpsMixingDevices_AreRefusedNamingBoth()
    {
        var a = Tensor.FromArray([1f, 2f], [2], Gpu);
        var b = Tensor.FromArray([1f, 2f], [2]);
        var ex = Assert.Throws<ArgumentException>(() => _ = a + b);
        Assert.That(ex!.Message, Does.Contain("ilgpu-cpu").And.Contain("cpu"));
        Assert.Throws<ArgumentException>(() => a.AddInPlace(b));
        Assert.Throws<ArgumentException>(() => Tensor.MatMul(Tensor.FromArray([1f], [1, 1], Gpu), Tensor.FromArray([1f], [1, 1])));
        Assert.Throws<ArgumentException>(() => Tensor.Conv2d(Tensor.Zeros([1, 1, 3, 3], Gpu), Tensor.Zeros(1, 1, 3, 3)));
    }

    [Test]
    public void CopyFrom_AnotherDevice_CopiesTheValues()
    {
        var onGpu = Tensor.Zeros([3], Gpu);
        onGpu.CopyFrom(Tensor.FromArray([1f, 2f, 3f], 3));
        Assert.That(onGpu.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }

    [Test]
    public void ModuleTo_MovesParametersMasksAndBuffers_AndBack()
    {
        var model = ModelZoo.Create("resnet8", [3, 8, 8], 10, InitScheme.KaimingNormal, seed: 5);
        var first = model.Parameters().First();
        first.Mask = Tensor.Ones(first.Shape);
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        model.To(Gpu);
        Assert.That(model.Device, Is.EqualTo(Gpu));
        Assert.That(model.Parameters().All(p => p.Value.Device == Gpu), "parameters");
        Assert.That(model.NamedBuffers().All(b => b.Buffer.Device == Gpu), "buffers");
        Assert.That(first.Mask!.Device, Is.EqualTo(Gpu), "mask");
        model.To(Device.Cpu);
        foreach (var (name, value) in model.StateDict())
        {
            Assert.That(value.ToArray(), Is.EqualTo(before[name]), name);
        }
    }
}
