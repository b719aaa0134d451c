using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine;

/// <summary>Devices beside the CPU: creating, registering and finding them, and running ops on one.</summary>
public class DeviceRegistryTests
{
    // The registry is process-wide and tests may run again in one process, so every device gets a fresh name.
    private static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static (Device Device, HostMemoryBackend Backend) NewHostDevice()
    {
        var backend = new HostMemoryBackend();
        var device = new Device(UniqueName("host"), backend);
        backend.Owner = device;
        return (device, backend);
    }

    [Test]
    public void Cpu_IsRegisteredFirst_AndFoundByName()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Device.Registered[0], Is.SameAs(Device.Cpu));
            Assert.That(Device.Get("cpu"), Is.SameAs(Device.Cpu));
        });
    }

    [Test]
    public void RegisteredDevice_IsFoundByName_AndListed()
    {
        var (device, _) = NewHostDevice();
        Device.Register(device);
        Assert.Multiple(() =>
        {
            Assert.That(Device.Get(device.Name), Is.SameAs(device));
            Assert.That(Device.Registered, Does.Contain(device));
            Assert.That(device.ToString(), Is.EqualTo(device.Name));
        });
    }

    [Test]
    public void OpsOnARegisteredDevice_RunThroughItsBackend_AndMatchTheCpu()
    {
        var (device, backend) = NewHostDevice();
        Device.Register(device);
        float[] wValues = [1f, 2f, 3f, 4f, 5f, 6f], xValues = [0.5f, -1f, 2f, 0.25f];

        var (y, dw) = Run(Device.Get(device.Name));
        var (cpuY, cpuDw) = Run(Device.Cpu);
        Assert.Multiple(() =>
        {
            Assert.That(y.Device, Is.SameAs(device));
            Assert.That(dw.Device, Is.SameAs(device));
            Assert.That(backend.Ops, Is.GreaterThan(0));
            Assert.That(y.ToArray(), Is.EqualTo(cpuY.ToArray()));
            Assert.That(dw.ToArray(), Is.EqualTo(cpuDw.ToArray()));
        });

        (Tensor Y, Tensor Dw) Run(Device on)
        {
            var w = Tensor.FromArray(wValues, [2, 3], on);
            w.RequiresGrad = true;
            var x = Tensor.FromArray(xValues, [2, 2], on);
            var yOut = Tensor.MatMul(x, w).Tanh();
            Gradients.Backward(yOut.Sum());
            return (yOut, w.Grad!);
        }
    }

    [Test]
    public void TensorsOnDifferentDevices_AreNotMixed()
    {
        var (device, _) = NewHostDevice();
        var a = Tensor.FromArray([1f, 2f], [2], device);
        var b = Tensor.FromArray([1f, 2f], [2], Device.Cpu);
        Assert.That(() => a + b, Throws.ArgumentException.With.Message.Contains("different devices"));
    }

    [Test]
    public void ADuplicateName_IsRefused_NamingIt()
    {
        var (device, _) = NewHostDevice();
        Device.Register(device);
        var twin = new Device(device.Name, Device.Cpu.Backend);
        Assert.Multiple(() =>
        {
            Assert.That(() => Device.Register(twin), Throws.ArgumentException.With.Message.Contains($"'{device.Name}' is already registered"));
            Assert.That(() => Device.Register(Device.Cpu), Throws.ArgumentException.With.Message.Contains("'cpu'"));
            Assert.That(Device.Get(device.Name), Is.SameAs(device));
        });
    }

    [Test]
    public void AnUnknownName_IsAnError_ListingTheRegisteredNames()
    {
        var (device, _) = NewHostDevice();
        Device.Register(device);
        Assert.That(
            () => Device.Get("tpu-7"),
            Throws.ArgumentException.With.Message.Contains("no device named 'tpu-7'")
                .And.Message.Contains("cpu")
                .And.Message.Contains(device.Name));
    }

    [TestCase("")]
    [TestCase("Cpu")]
    [TestCase("cuda 0")]
    [TestCase("cuda_0")]
    [TestCase("gpü")]
    public void AnInvalidName_IsRefused(string name) =>
        Assert.That(() => new Device(name, Device.Cpu.Backend), Throws.ArgumentException.With.Message.Contains("invalid name"));

    [Test]
    public void ANullBackend_IsRefused() =>
        Assert.That(() => new Device("cpu-test", null!), Throws.ArgumentNullException);

    [Test]
    public void ConcurrentRegistrations_AreAllKept()
    {
        var devices = Enumerable.Range(0, 64).Select(_ => new Device(UniqueName("par"), Device.Cpu.Backend)).ToArray();
        Parallel.ForEach(devices, Device.Register);
        Assert.That(devices.Select(d => Device.Get(d.Name)), Is.EqualTo(devices));
    }
}
