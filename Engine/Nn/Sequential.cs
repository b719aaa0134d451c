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
        for (int i = 0; i < _layers.Count; i++)
        {
            // A batch norm or a convolution followed by a ReLU runs as one op: the same bits, fewer passes over the
            // activations.
            if (i + 1 < _layers.Count && _layers[i + 1] is ReLU && _layers[i] is BatchNorm2d or Conv2d)
            {
                x = _layers[i] is BatchNorm2d norm ? norm.ForwardRelu(x) : ((Conv2d)_layers[i]).ForwardRelu(x);
                i++;
                continue;
            }

            x = _layers[i].Forward(x);
        }

        return x;
    }
}
