using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>One differentiable op under test: its inputs, the engine call and the double reference.</summary>
public sealed record OpCase(string Name, (int[] Shape, InputKind Kind)[] Inputs, Func<Tensor[], Tensor> Engine, Func<RefTensor[], RefTensor> Reference)
{
    /// <summary>A seed derived from the name, stable across runs (string.GetHashCode is randomised per process).</summary>
    public int Seed
    {
        get
        {
            uint hash = 2166136261;
            foreach (char c in Name)
            {
                hash = (hash ^ c) * 16777619;
            }

            return (int)(hash & 0x7fffffff);
        }
    }

    public override string ToString() => Name;
}
