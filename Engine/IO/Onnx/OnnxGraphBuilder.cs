using System.Buffers.Binary;
using Google.Protobuf;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.IO.Onnx;

/// <summary>
/// Collects the nodes and initializers of one ONNX graph, giving every value a name no other value,
/// initializer or graph input has.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Starts a graph whose names will never collide with <paramref name="reserved"/>.</summary>
    public OnnxGraphBuilder(string name, IEnumerable<string> reserved)
    {
        Graph = new GraphProto { Name = name };
        _names.UnionWith(reserved);
    }

    /// <summary>The graph built so far.</summary>
    public GraphProto Graph { get; }

    /// <summary>
    /// Appends a node reading <paramref name="inputs"/> and returns the name of its one output, which is
    /// <paramref name="name"/> unless that is taken.
    /// </summary>
    public string AddNode(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = Unique(name);
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a float32 constant under <paramref name="name"/>, which must not be taken.</summary>
    public void AddInitializer(string name, Tensor value)
    {
        if (!_names.Add(name))
        {
            throw new ArgumentException($"onnx export: the name '{name}' is used twice");
        }

        float[] data = value.ToArray();
        var bytes = new byte[data.Length * sizeof(float)];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), data[i]);
        }

        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            RawData = UnsafeByteOperations.UnsafeWrap(bytes),
        };
        tensor.Dims.AddRange(value.Shape.Select(d => (long)d));
        Graph.Initializer.Add(tensor);
    }

    /// <summary>Renames the output of the last node (the graph's result) to <paramref name="name"/>.</summary>
    public void NameLastOutput(string name)
    {
        var last = Graph.Node[^1];
        _names.Remove(last.Output[0]);
        last.Output[0] = name;
    }

    /// <summary>A float32 tensor type whose first dimension is the symbolic <paramref name="batch"/>.</summary>
    public static ValueInfoProto BatchedFloat(string name, string batch, IEnumerable<int> sample)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batch });
        foreach (int d in sample)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A list-of-integers attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 1; !_names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}
