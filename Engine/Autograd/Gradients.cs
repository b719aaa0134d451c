using System.Runtime.InteropServices;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Autograd;

/// <summary>Reverse-mode differentiation over the recorded graph.</summary>
public static class Gradients
{
    /// <summary>
    /// Accumulates d<paramref name="root"/>/dx into <c>x.Grad</c> for every leaf x that requires grad.
    /// With <paramref name="createGraph"/> the backward pass is itself recorded, so the gradients can be
    /// differentiated again.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null, bool createGraph = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        Run([root], [gradient], createGraph, captured: null);
    }

    /// <summary>
    /// Returns d(Σ outputs·gradOutputs)/d input for each input, without touching <c>Grad</c>. An input that
    /// the outputs do not depend on gets null when <paramref name="allowUnused"/>, else an error.
    /// </summary>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor?[]? gradOutputs = null, bool createGraph = false, bool allowUnused = false)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        var captured = new Dictionary<Tensor, Tensor?>(ReferenceEqualityComparer.Instance);
        foreach (var input in inputs)
        {
            if (!input.RequiresGrad)
            {
                throw new ArgumentException($"grad: input {input} does not require grad");
            }

            captured[input] = null;
        }

        Run(outputs, gradOutputs ?? new Tensor?[outputs.Length], createGraph, captured);
        var result = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            result[i] = captured[inputs[i]];
            if (result[i] is null && !allowUnused)
            {
                throw new InvalidOperationException($"grad: input {i} ({inputs[i]}) is not reached from the outputs; pass allowUnused to get null");
            }
        }

        return result;
    }

    private static void Run(Tensor[] roots, Tensor?[] rootGrads, bool createGraph, Dictionary<Tensor, Tensor?>? captured)
    {
        if (roots.Length != rootGrads.Length)
        {
            throw new ArgumentException($"grad: {roots.Length} outputs but {rootGrads.Length} output gradients");
        }

        // The backward pass is recorded exactly when a graph of gradients is wanted.
        int savedDepth = GradMode.Swap(createGraph ? 0 : 1);
        try
        {
            RunRecorded(roots, rootGrads, createGraph, captured);
        }
        finally
        {
            GradMode.Swap(savedDepth);
        }
    }

    private static void RunRecorded(Tensor[] roots, Tensor?[] rootGrads, bool createGraph, Dictionary<Tensor, Tensor?>? captured)
    {
        var order = TopologicalOrder(roots);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var handedOut = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        foreach (var given in rootGrads)
        {
            if (given is not null)
            {
                handedOut.Add(given.Storage);
            }
        }

        for (int i = 0; i < roots.Length; i++)
        {
            var root = roots[i];
            if (!root.RequiresGrad)
            {
                throw new InvalidOperationException($"backward: output {i} ({root}) does not require grad; nothing to differentiate");
            }

            var g = rootGrads[i];
            if (g is null)
            {
                if (root.Size != 1)
                {
                    throw new ArgumentException($"backward: output {i} has shape {Shape.Format(root.Shape)}; pass a gradient for non-scalar outputs");
                }

                g = Tensor.Full(1f, root.Shape, root.Device);
            }
            else
            {
                Tensor.RequireSameShape("backward", root, g);
            }

            Accumulate(grads, root, g);
        }

        // Reverse topological order: every consumer of a tensor runs before it, so its gradient is complete.
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!grads.Remove(t, out var g))
            {
                continue;
            }

            if (captured is not null && captured.ContainsKey(t))
            {
                captured[t] = g;
            }

            if (t.Node is null)
            {
                if (captured is null)
                {
                    AccumulateLeaf(t, g, createGraph, handedOut);
                }

                continue;
            }

            var inputs = t.Node.Inputs;
            var skip = createGraph || captured is not null ? null : SinkIntoLeaves(t.Node, g);
            var inputGrads = t.Node.Backward(g, skip);
            for (int j = 0; j < inputs.Length; j++)
            {
                var gi = inputGrads[j];
                if (gi is not null && inputs[j].RequiresGrad)
                {
                    if (!Shape.Equal(gi.Shape, inputs[j].Shape))
                    {
                        throw new InvalidOperationException($"backward of {t.Node.Op}: gradient {Shape.Format(gi.Shape)} for input {j} of shape {Shape.Format(inputs[j].Shape)}");
                    }

                    Accumulate(grads, inputs[j], gi);
                }
            }
        }
    }

    // A leaf that already has a gradient buffer can take its gradient straight from the op (a matrix
    // product accumulating into the buffer), saving a temporary as large as the parameter.
    private static bool[]? SinkIntoLeaves(GradNode node, Tensor g)
    {
        if (node.Sink is null)
        {
            return null;
        }

        bool[]? skip = null;
        var inputs = node.Inputs;
        for (int j = 0; j < inputs.Length; j++)
        {
            var input = inputs[j];
            if (!input.IsLeaf || !input.RequiresGrad)
            {
                continue;
            }

            // Add to a gradient already there; or overwrite the buffer kept from before it was cleared, which
            // then becomes the gradient (so a second consumer in this pass adds to it).
            bool sunk = input.Grad is { } buffer
                ? Shape.Equal(buffer.Shape, input.Shape) && node.Sink(g, j, buffer, true)
                : input.SpareGrad is { } spare && Shape.Equal(spare.Shape, input.Shape) && node.Sink(g, j, spare, false);
            if (sunk && input.Grad is null)
            {
                input.Grad = input.SpareGrad;
            }

            if (sunk)
            {
                skip ??= new bool[inputs.Length];
                skip[j] = true;
            }
        }

        return skip;
    }

    private static void Accumulate(Dictionary<Tensor, Tensor> grads, Tensor t, Tensor g)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(grads, t, out bool exists);
        slot = exists ? slot! + g : g;
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g, bool createGraph, HashSet<Storage> handedOut)
    {
        if (leaf.Grad is null && !createGraph && leaf.SpareGrad is { } spare && Shape.Equal(spare.Shape, leaf.Shape) && spare.Device == g.Device)
        {
            // The buffer kept from before the gradient was cleared takes a copy, so the incoming gradient can be
            // recycled and no new buffer is made each step.
            spare.CopyFrom(g);
            leaf.Grad = spare;
        }
        else if (leaf.Grad is null)
        {
            // The incoming gradient may be the caller's tensor or the very buffer another leaf receives (add
            // passes its gradient through unchanged, reshape hands out a view). A buffer is kept as is the first
            // time and copied after that, so no two leaves ever share one and in-place accumulation stays safe.
            // With a graph the copy is a recorded identity so the gradient stays differentiable.
            bool shared = !handedOut.Add(g.Storage);
            leaf.Grad = createGraph ? g.Affine(1f, 0f) : shared ? g.Clone() : g;
            TensorArena.Keep(leaf.Grad.Storage);
        }
        else if (createGraph)
        {
            leaf.Grad = leaf.Grad + g;
            TensorArena.Keep(leaf.Grad.Storage);
        }
        else
        {
            leaf.Grad.AddInPlace(g);
        }
    }

    /// <summary>Tensors reachable from the roots through recorded ops, inputs before the tensors they produce.</summary>
    private static List<Tensor> TopologicalOrder(Tensor[] roots)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        foreach (var root in roots)
        {
            if (!root.RequiresGrad || !visited.Add(root))
            {
                continue;
            }

            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (t, next) = stack.Pop();
                var inputs = t.Node?.Inputs ?? [];
                if (next < inputs.Length)
                {
                    stack.Push((t, next + 1));
                    var child = inputs[next];
                    if (child.RequiresGrad && visited.Add(child))
                    {
                        stack.Push((child, 0));
                    }
                }
                else
                {
                    order.Add(t);
                }
            }
        }

        return order;
    }
}
