using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Autograd;

/// <summary>
/// One recorded op: its inputs and its backward rule. The rule maps the output's gradient to one
/// gradient per input (null where an input gets none), written with differentiable tensor ops so that
/// a backward pass run with grad mode on builds a graph of its own.
/// </summary>
/// <remarks>
/// An op may also offer a <see cref="Sink"/>: a way to add an input's gradient straight into an existing
/// buffer (a parameter's <c>Grad</c>) instead of returning a new tensor. A plain backward pass uses it for
/// leaves, and then tells the rule, through the skip mask, not to compute that input's gradient again.
/// </remarks>
internal sealed class GradNode(string op, Tensor[] inputs, Func<Tensor, bool[]?, Tensor?[]> backward, Func<Tensor, int, Tensor, bool, bool>? sink = null)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; } = inputs;

    /// <summary>Output gradient and skip mask (null: compute all) to input gradients.</summary>
    public Func<Tensor, bool[]?, Tensor?[]> Backward { get; } = backward;

    /// <summary>
    /// Writes input i's gradient into the destination (adding to it when the last argument is true); false
    /// when it cannot for that input.
    /// </summary>
    public Func<Tensor, int, Tensor, bool, bool>? Sink { get; } = sink;
}
