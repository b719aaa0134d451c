using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Nn;

/// <summary>Runs named submodules one after another.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the chain from (name, module) pairs; names become state-dict prefixes.</summary>
    public Sequential(params (string Name, Module Module)[] layers)
    {
        foreach (var (name, module) in layers)
        {
            _layers.Add(RegisterModule(name, module));
        }
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers)
        {
            x = layer.Forward(x);
        }

        return x;
    }
}
