using SparseNet.Engine.Tensors;

namespace SparseNet.GpuCheck;

/// <summary>
/// One comparison of a device's backend with the CPU's: <see cref="Op"/> runs on leaves made from the same host
/// values on both devices; its value and the leaves' gradients (of a weighted sum of the output) must agree within
/// |Δ| ≤ atol + rtol·|ref|.
/// </summary>
/// <param name="Name">What is compared, e.g. <c>conv2d stride 2</c>.</param>
/// <param name="Op">The computation, from the input leaves.</param>
/// <param name="Inputs">Host values and shape of each input leaf.</param>
/// <param name="Atol">Absolute tolerance.</param>
/// <param name="Rtol">Relative tolerance.</param>
public sealed record BackendCheck(string Name, Func<Tensor[], Tensor> Op, (float[] Values, int[] Shape)[] Inputs, float Atol = 1e-4f, float Rtol = 1e-4f)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
