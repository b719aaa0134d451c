using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>
/// A layer or model. Submodules, parameters and buffers are registered explicitly (no reflection), in a
/// fixed order that gives state-dict keys like <c>fc1.weight</c>.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Parameter Value)> _parameters = [];
    private readonly List<(string Name, Tensor Value)> _buffers = [];
    private readonly List<(string Name, Module Value)> _children = [];

    /// <summary>True in training mode (dropout active, batch norm uses batch statistics).</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Runs the module.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Switches this module and its children to training mode.</summary>
    public Module Train(bool training = true)
    {
        IsTraining = training;
        foreach (var (_, child) in _children)
        {
            child.Train(training);
        }

        return this;
    }

    /// <summary>Switches this module and its children to evaluation mode.</summary>
    public Module Eval() => Train(false);

    /// <summary>Whether this module's pruned weights run sparse (<see cref="SparseMode.Auto"/> unless set).</summary>
    public SparseMode Sparse { get; private set; }

    /// <summary>
    /// Sets <see cref="Sparse"/> for this module and its children; <see cref="SparseMode.Off"/> also keeps the
    /// optimizer's steps on their parameters dense.
    /// </summary>
    public Module UseSparse(SparseMode mode)
    {
        Sparse = mode;
        foreach (var (_, parameter) in _parameters)
        {
            parameter.SparseSteps = mode != SparseMode.Off;
        }

        foreach (var (_, child) in _children)
        {
            child.UseSparse(mode);
        }

        return this;
    }

    /// <summary>The device of the module's parameters (and buffers); <see cref="Devices.Device.Cpu"/> when it has none.</summary>
    public Devices.Device Device =>
        Parameters().Select(p => p.Value.Device).Concat(NamedBuffers().Select(b => b.Buffer.Device)).FirstOrDefault() ?? Devices.Device.Cpu;

    /// <summary>
    /// Moves every parameter, mask and buffer of this module and its children to <paramref name="device"/>, in place:
    /// the same <see cref="Parameter"/> and tensor objects then live there, so references held elsewhere (an optimizer
    /// made afterwards, a state dict) see the move. Gradients are dropped. Returns this module.
    /// </summary>
    /// <remarks>Make optimizers after the move: their state is made on the device of the parameters at their first step.</remarks>
    public Module To(Devices.Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var p in Parameters())
        {
            p.Value.MoveTo(device);
            p.Mask?.MoveTo(device);
        }

        foreach (var (_, buffer) in NamedBuffers())
        {
            buffer.MoveTo(device);
        }

        return this;
    }

    /// <summary>All parameters with dotted names, depth first in registration order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters)
        {
            yield return (prefix + name, p);
        }

        foreach (var (name, child) in _children)
        {
            foreach (var item in child.NamedParameters($"{prefix}{name}."))
            {
                yield return item;
            }
        }
    }

    /// <summary>All parameters, in the order of <see cref="NamedParameters"/>.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>All buffers (non-trained state such as running statistics) with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, b) in _buffers)
        {
            yield return (prefix + name, b);
        }

        foreach (var (name, child) in _children)
        {
            foreach (var item in child.NamedBuffers($"{prefix}{name}."))
            {
                yield return item;
            }
        }
    }

    /// <summary>Direct submodules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>Parameters and buffers by name, sharing storage with the module.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in NamedParameters())
        {
            state[name] = p.Value;
        }

        foreach (var (name, b) in NamedBuffers())
        {
            state[name] = b;
        }

        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into the parameters and buffers. Returns the keys the
    /// module has but the state lacks, and the keys the state has but the module lacks; when
    /// <paramref name="strict"/>, either list being non-empty is an error. Shape mismatches are always errors.
    /// </summary>
    public (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
        {
            throw new ArgumentException($"load_state_dict: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}]");
        }

        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source))
            {
                if (!Shape.Equal(source.Shape, target.Shape))
                {
                    throw new ArgumentException($"load_state_dict: {name} has shape {Shape.Format(source.Shape)} in the state but {Shape.Format(target.Shape)} in the module");
                }

                target.CopyFrom(source);
            }
        }

        return (missing, unexpected);
    }

    /// <summary>Registers a parameter under a name.</summary>
    protected Parameter RegisterParameter(string name, Parameter parameter)
    {
        CheckName(name);
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers a buffer (saved in the state dict, not trained).</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        CheckName(name);
        _buffers.Add((name, buffer));
        return buffer;
    }

    /// <summary>Registers a submodule under a name.</summary>
    protected T RegisterModule<T>(string name, T module)
        where T : Module
    {
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"module: name '{name}' must be non-empty and contain no '.'");
        }

        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
        {
            throw new ArgumentException($"module: name '{name}' is already registered");
        }
    }
}
