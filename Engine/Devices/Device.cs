using System.Collections.ObjectModel;

namespace SparseNet.Engine.Devices;

/// <summary>
/// Where tensors live and run. Ops reach compute only through <see cref="Backend"/>, so autograd and
/// modules never look at which device a tensor is on.
/// </summary>
/// <remarks>
/// A backend for other hardware creates a device with its own <see cref="IBackend"/> (whose storages report
/// that device) and registers it with <see cref="Register"/>, so it can be found by name with
/// <see cref="Get"/>. The CPU device, <c>cpu</c>, is always registered.
/// </remarks>
public sealed class Device
{
    private static readonly Lock s_registryGate = new();

    /// <summary>
    /// Creates a device. It can be used at once; <see cref="Register"/> only makes it findable by name.
    /// </summary>
    /// <param name="name">Short, unique name: lowercase ASCII letters, digits and <c>-</c>, e.g. <c>cuda-0</c>.</param>
    /// <param name="backend">The compute backend that allocates this device's storages and runs its ops.</param>
    /// <param name="description">What the device is, for people (e.g. the GPU's model); the name when omitted.</param>
    public Device(string name, IBackend backend, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(backend);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"device: invalid name '{name}'; use lowercase letters, digits and '-', e.g. 'cuda-0'", nameof(name));
        }

        Name = name;
        Backend = backend;
        Description = description ?? name;
    }

    /// <summary>The host CPU, running SIMD kernels.</summary>
    public static Device Cpu { get; } = new("cpu", new CpuBackend(), $"cpu: {Environment.ProcessorCount} threads, {Kernels.KernelInfo.VectorWidth * 32}-bit SIMD");

    // Copy-on-write under the gate, so readers (Get, Registered) never lock and never see a list change.
    // Declared after Cpu: static initialisers run in textual order.
    private static ReadOnlyCollection<Device> s_registered = Array.AsReadOnly([Cpu]);

    /// <summary>The registered devices, in the order they were registered (<see cref="Cpu"/> first).</summary>
    public static IReadOnlyList<Device> Registered => Volatile.Read(ref s_registered);

    /// <summary>Short name, e.g. <c>cpu</c>.</summary>
    public string Name { get; }

    /// <summary>What the device is, for people: e.g. <c>cuda: NVIDIA H100 80GB HBM3</c>.</summary>
    public string Description { get; }

    /// <summary>The compute backend of this device.</summary>
    public IBackend Backend { get; }

    /// <summary>Makes <paramref name="device"/> findable by its name with <see cref="Get"/>.</summary>
    /// <exception cref="ArgumentException">A device of the same name is already registered.</exception>
    public static void Register(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (s_registryGate)
        {
            var current = s_registered;
            if (Find(current, device.Name) is not null)
            {
                throw new ArgumentException($"device: a device named '{device.Name}' is already registered", nameof(device));
            }

            Volatile.Write(ref s_registered, Array.AsReadOnly([.. current, device]));
        }
    }

    /// <summary>The registered device named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No device of that name is registered; the message lists the registered names.</exception>
    public static Device Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var current = Registered;
        return Find(current, name)
            ?? throw new ArgumentException($"device: no device named '{name}' is registered; registered: {string.Join(", ", current.Select(d => d.Name))}", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    private static Device? Find(IReadOnlyList<Device> devices, string name)
    {
        foreach (var device in devices)
        {
            if (string.Equals(device.Name, name, StringComparison.Ordinal))
            {
                return device;
            }
        }

        return null;
    }

    private static bool IsValidName(string name) =>
        name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}
