using System.Reflection;
using Google.Protobuf;
using SparseNet.Engine.IO.Onnx;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using Module = SparseNet.Engine.Nn.Module;

namespace SparseNet.Engine.IO;

/// <summary>
/// Writes a model as an ONNX file (opset 13, IR version 7) that ONNX Runtime and other ONNX readers can run.
/// </summary>
/// <remarks>
/// The graph computes the model in evaluation mode: dropout is left out and batch normalisation uses the
/// running statistics, whatever mode the model is in. It has one float32 input named <c>input</c> of shape
/// [batch, ...inputShape] and one output named <c>logits</c>, where batch is the symbolic dimension
/// <c>batch</c>. Weights are stored as they are now, as float32 initializers named by their state-dict
/// keys (<c>fc1.weight</c>); a pruned ticket's weights are exactly zero and stay so. Understood modules:
/// <see cref="Sequential"/>, <see cref="Linear"/> (Gemm), <see cref="Conv2d"/> (Conv), <see cref="ReLU"/>,
/// <see cref="Tanh"/>, <see cref="MaxPool2d"/> (MaxPool), <see cref="AvgPool2d"/> (AveragePool, padding
/// counted in the average), <see cref="GlobalAvgPool2d"/> (GlobalAveragePool and Flatten),
/// <see cref="BatchNorm2d"/> (BatchNormalization), <see cref="Flatten"/> and <see cref="Dropout"/> (left out).
/// </remarks>
public static class OnnxExport
{
    /// <summary>The version of the default (ai.onnx) operator set the graph uses.</summary>
    public const int OpsetVersion = 13;

    /// <summary>The ONNX IR version written, the one that introduced opset 13.</summary>
    public const int IrVersion = 7;

    /// <summary>Name of the graph's input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph's output.</summary>
    public const string OutputName = "logits";

    /// <summary>Name of the symbolic first dimension of the input and output.</summary>
    public const string BatchDimension = "batch";

    private const string ProducerName = "SparseNet";

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> as an ONNX file, atomically.</summary>
    /// <param name="model">The model; its current weights are written.</param>
    /// <param name="inputShape">The shape of one example, without the batch dimension (e.g. [1,28,28]).</param>
    /// <param name="path">Target file; its directory is created if missing.</param>
    /// <param name="producerVersion">Recorded as the producer version; null records SparseNet's version.</param>
    /// <exception cref="NotSupportedException">The model holds a module that has no ONNX equivalent here; the message names it.</exception>
    /// <exception cref="ArgumentException">The input shape is empty or not positive, or a layer does not fit the shape it would be given.</exception>
    public static void Save(Module model, int[] inputShape, string path, string? producerVersion = null) =>
        AtomicFile.WriteAllBytes(path, Serialize(model, inputShape, producerVersion));

    /// <summary>The ONNX file of <paramref name="model"/>, as bytes.</summary>
    /// <param name="model">The model; its current weights are written.</param>
    /// <param name="inputShape">The shape of one example, without the batch dimension (e.g. [1,28,28]).</param>
    /// <param name="producerVersion">Recorded as the producer version; null records SparseNet's version.</param>
    /// <returns>A serialized ONNX ModelProto.</returns>
    /// <exception cref="NotSupportedException">The model holds a module that has no ONNX equivalent here; the message names it.</exception>
    /// <exception cref="ArgumentException">The input shape is empty or not positive, or a layer does not fit the shape it would be given.</exception>
    public static byte[] Serialize(Module model, int[] inputShape, string? producerVersion = null) =>
        Build(model, inputShape, producerVersion).ToByteArray();

    private static ModelProto Build(Module model, int[] inputShape, string? producerVersion)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"onnx export: input shape {Shape.Format(inputShape)} must have at least one dimension, all positive");
        }

        var builder = new OnnxGraphBuilder("sparsenet", [InputName, OutputName]);
        var walk = new Walk(builder, InputName, (int[])inputShape.Clone());
        walk.Visit(model, string.Empty);
        if (builder.Graph.Node.Count == 0)
        {
            // A model that computes nothing (only dropout) still needs a node to produce the output.
            builder.AddNode("Identity", "identity", [InputName]);
        }

        builder.NameLastOutput(OutputName);
        builder.Graph.Input.Add(OnnxGraphBuilder.BatchedFloat(InputName, BatchDimension, inputShape));
        builder.Graph.Output.Add(OnnxGraphBuilder.BatchedFloat(OutputName, BatchDimension, walk.Sample));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = producerVersion ?? DefaultProducerVersion(),
            Graph = builder.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        return proto;
    }

    private static string DefaultProducerVersion()
    {
        var assembly = typeof(OnnxExport).Assembly;
        string version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";

        // Build metadata (+commit) would make two builds of the same source write different files.
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    /// <summary>Turns modules into nodes, following the shape of one example through the model.</summary>
    private sealed class Walk(OnnxGraphBuilder builder, string value, int[] sample)
    {
        private string _value = value;

        /// <summary>The shape of one example at the current point, without the batch dimension.</summary>
        public int[] Sample { get; private set; } = sample;

        public void Visit(Module module, string path)
        {
            switch (module)
            {
                case Sequential sequential:
                    foreach (var (name, child) in sequential.NamedChildren())
                    {
                        Visit(child, path.Length == 0 ? name : $"{path}.{name}");
                    }

                    break;
                case Linear linear:
                    Require(path, module, Sample.Length == 1 && Sample[0] == linear.InFeatures, $"[N,{linear.InFeatures}]");
                    Emit("Gemm", path, WithParameters(path, linear), OnnxGraphBuilder.Int("transB", 1));
                    Sample = [linear.OutFeatures];
                    break;
                case Conv2d conv:
                    EmitConv(path, conv);
                    break;
                case ReLU:
                    Emit("Relu", path, [_value]);
                    break;
                case Tanh:
                    Emit("Tanh", path, [_value]);
                    break;
                case MaxPool2d pool:
                    EmitPool("MaxPool", path, module, pool.KernelSize, pool.Stride, pool.Padding);
                    break;
                case AvgPool2d pool:
                    EmitPool("AveragePool", path, module, pool.KernelSize, pool.Stride, pool.Padding, OnnxGraphBuilder.Int("count_include_pad", 1));
                    break;
                case GlobalAvgPool2d:
                    // ONNX keeps the pooled 1×1 plane; SparseNet's layer drops it.
                    Require(path, module, Sample.Length == 3, "[N,C,H,W]");
                    Emit("GlobalAveragePool", Join(path, "GlobalAveragePool"), [_value]);
                    Emit("Flatten", Join(path, "Flatten"), [_value], OnnxGraphBuilder.Int("axis", 1));
                    Sample = [Sample[0]];
                    break;
                case ResidualBlock block:
                    EmitResidual(path, block);
                    break;
                case BatchNorm2d norm:
                    Require(path, module, Sample.Length == 3 && Sample[0] == norm.Channels, $"[N,{norm.Channels},H,W]");
                    Emit("BatchNormalization", path, WithParameters(path, norm), OnnxGraphBuilder.Float("epsilon", norm.Eps));
                    break;
                case Flatten:
                    Emit("Flatten", path, [_value], OnnxGraphBuilder.Int("axis", 1));
                    Sample = [checked(Sample.Aggregate(1, (a, b) => a * b))];
                    break;
                case Dropout:
                    // The identity in evaluation, which is what the graph computes.
                    break;
                default:
                    throw new NotSupportedException(
                        $"onnx export: module '{Describe(path)}' ({module.GetType().Name}) has no ONNX equivalent; supported are Sequential, Linear, Conv2d, ReLU, Tanh, MaxPool2d, AvgPool2d, GlobalAvgPool2d, BatchNorm2d, ResidualBlock, Flatten and Dropout");
            }
        }

        private static string Describe(string path) => path.Length == 0 ? "(the model itself)" : path;

        private static string Join(string path, string op) => path.Length == 0 ? op : $"{path}/{op}";

        private void Require(string path, Module module, bool fits, string expected)
        {
            if (!fits)
            {
                throw new ArgumentException($"onnx export: module '{Describe(path)}' ({module.GetType().Name}) expects {expected} but would be given [N,{string.Join(',', Sample)}]");
            }
        }

        private void Emit(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
            _value = builder.AddNode(opType, name.Length == 0 ? opType : name, inputs, attributes);

        // The current value followed by the module's parameters and then its buffers, each an initializer
        // named by its state-dict key: the input order of Gemm, Conv and BatchNormalization.
        private List<string> WithParameters(string path, Module module)
        {
            var inputs = new List<string> { _value };
            string prefix = path.Length == 0 ? string.Empty : path + ".";
            foreach (var (name, parameter) in module.NamedParameters(prefix))
            {
                builder.AddInitializer(name, parameter.Value);
                inputs.Add(name);
            }

            foreach (var (name, buffer) in module.NamedBuffers(prefix))
            {
                builder.AddInitializer(name, buffer);
                inputs.Add(name);
            }

            return inputs;
        }

        private void EmitConv(string path, Conv2d conv)
        {
            int[] w = conv.Weight.Shape;
            int kh = w[2], kw = w[3];
            bool fits = Sample.Length == 3 && Sample[0] == w[1]
                && Sample[1] + (2 * conv.Padding) >= kh && Sample[2] + (2 * conv.Padding) >= kw;
            Require(path, conv, fits, $"[N,{w[1]},H,W] with H+2·{conv.Padding} ≥ {kh} and W+2·{conv.Padding} ≥ {kw}");
            int p = conv.Padding, s = conv.Stride;
            Emit(
                "Conv",
                path,
                WithParameters(path, conv),
                OnnxGraphBuilder.Ints("kernel_shape", kh, kw),
                OnnxGraphBuilder.Ints("strides", s, s),
                OnnxGraphBuilder.Ints("pads", p, p, p, p),
                OnnxGraphBuilder.Ints("dilations", 1, 1),
                OnnxGraphBuilder.Int("group", 1));
            var g = new Conv2dGeometry(1, w[1], Sample[1], Sample[2], w[0], kh, kw, s, s, p, p);
            Sample = [w[0], g.OH, g.OW];
        }

        // relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)): the two paths start from the same value and meet in an Add.
        private void EmitResidual(string path, ResidualBlock block)
        {
            string Child(string name) => path.Length == 0 ? name : $"{path}.{name}";
            var (input, inputSample) = (_value, Sample);
            Visit(block.Conv1, Child("conv1"));
            Visit(block.Bn1, Child("bn1"));
            Emit("Relu", Join(path, "Relu1"), [_value]);
            Visit(block.Conv2, Child("conv2"));
            Visit(block.Bn2, Child("bn2"));
            var (residual, residualSample) = (_value, Sample);
            (_value, Sample) = (input, inputSample);
            if (block.Shortcut is not null)
            {
                Visit(block.Shortcut, Child("shortcut"));
            }

            Require(path, block, Shape.Equal(Sample, residualSample), $"a shortcut of the residual's shape [N,{string.Join(',', residualSample)}]");
            Emit("Add", Join(path, "Add"), [residual, _value]);
            Emit("Relu", Join(path, "Relu"), [_value]);
        }

        private void EmitPool(string opType, string path, Module module, int k, int s, int p, params AttributeProto[] extra)
        {
            // The same limits the layer's forward pass enforces, so a model that cannot run cannot be exported.
            bool fits = Sample.Length == 3 && k >= 1 && s >= 1 && p >= 0 && 2 * p <= k
                && Sample[1] + (2 * p) >= k && Sample[2] + (2 * p) >= k;
            Require(path, module, fits, $"[N,C,H,W] with H+2·{p} ≥ {k} and W+2·{p} ≥ {k} (kernel {k}, stride {s}, padding {p})");
            AttributeProto[] attributes =
            [
                OnnxGraphBuilder.Ints("kernel_shape", k, k),
                OnnxGraphBuilder.Ints("strides", s, s),
                OnnxGraphBuilder.Ints("pads", p, p, p, p),
                .. extra,
            ];
            Emit(opType, path, [_value], attributes);
            var g = new Pool2dGeometry(Sample[0], Sample[1], Sample[2], k, k, s, s, p, p);
            Sample = [Sample[0], g.OH, g.OW];
        }
    }
}
