using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Autograd;

/// <summary>
/// One recorded op: its inputs and its backward rule. The rule maps the output's gradient to one
/// gradient per input (null where an input gets none), written with differentiable tensor ops so that
/// a backward pass run with grad mode on builds a graph of its own.
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; } = inputs;

    public Func<Tensor, Tensor?[]> Backward { get; } = backward;
}
