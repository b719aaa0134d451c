using SparseNet.Kernels.Cpu;
using Tensor = SparseNet.Engine.Tensors.Tensor;

namespace SparseNet.Engine.Devices;

/// <summary>Sparse layers and optimizer steps on the CPU: the kernels of <see cref="SparseLinear"/> and <see cref="SparseSteps"/>.</summary>
internal sealed partial class CpuBackend
{
    public bool SupportsSparse => true;

    public SparseMatrix CompressRows(Tensor mask, int rows, int columns) => new CpuSparseMatrix(SparseRows.FromMask(D(mask), rows, columns), mask.Device);

    public void LoadSparseValues(SparseMatrix matrix, Tensor dense) => S(matrix).Load(D(dense));

    public int SparseWorkspaceLength(int features, int batch) => SparseLinear.WorkspaceLength(features, batch);

    public void SparseLinearForward(SparseMatrix weight, Tensor x, Tensor workspace, Tensor y) =>
        SparseLinear.Forward(S(weight).Matrix, D(x), x.Shape[0], D(workspace), D(y));

    public void SparseLinearBackward(SparseMatrix weight, Tensor workspace, Tensor dy, Tensor? dx, Tensor? weightGrad, SparseGradWrite write)
    {
        var w = S(weight);
        SettleGrad(w, weightGrad, write);
        var transposed = dx is null ? w.TransposedStructure() : w.Transposed();
        SparseLinear.Backward(
            w.Matrix, transposed, D(workspace), D(dy), dy.Shape[0], dx is null ? [] : D(dx), w.GradValues, weightGrad is not null && write == SparseGradWrite.Overwrite ? D(weightGrad) : []);
        WriteGrad(w, weightGrad, write);
    }

    // Before a kernel overwrites the matrix's gradient values: the dense gradient still waiting for the last ones gets
    // them now, unless this pass writes its kept values into that same buffer.
    private static void SettleGrad(CpuSparseMatrix w, Tensor? weightGrad, SparseGradWrite write) =>
        w.SettleGrad(weightGrad is not null && write == SparseGradWrite.Kept ? weightGrad.Storage as CpuStorage : null);

    // The kernels leave the kept values of the gradient in the matrix; Overwrite has had them scattered with zeros
    // around them already, Kept leaves them to be written when the gradient is read (the sparse optimizer steps read
    // them from the matrix instead).
    private static void WriteGrad(CpuSparseMatrix w, Tensor? weightGrad, SparseGradWrite write)
    {
        if (weightGrad is null || write == SparseGradWrite.Overwrite)
        {
            return;
        }

        if (write == SparseGradWrite.Add)
        {
            w.Matrix.ScatterKept(w.GradValues, D(weightGrad), add: true);
        }
        else
        {
            w.DeferKept((CpuStorage)weightGrad.Storage);
        }
    }

    public void SparseAdamStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        var k = S(kept);
        var rows = k.Matrix;
        // The gradient's kept values in entry order, when the matrix holds them for this very buffer; else read at
        // their positions in the dense gradient.
        bool compressed = ReferenceEquals(kept.GradTensor, grad) && kept.GradVersion == grad.Version;
        AdamKernel.StepKept(rows.RowStarts, rows.ColumnIndices, rows.Columns, D(theta), compressed ? k.GradValues : D(grad), compressed, D(m), D(v), k.StepValues(), beta1, beta2, eps, weightDecay, stepSize, invRootC2);
    }

    public void GatherKept(SparseMatrix kept, Tensor dense, Tensor values) => S(kept).Matrix.Gather(D(dense), D(values));

    public void ScatterKept(SparseMatrix kept, Tensor values, Tensor dense) => S(kept).Matrix.Scatter(D(values), D(dense));

    public void SparseSgdStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep)
    {
        var k = S(kept);
        var rows = k.Matrix;
        SparseSteps.Sgd(rows.RowStarts, rows.ColumnIndices, rows.Columns, D(theta), D(grad), velocity is null ? [] : D(velocity), learningRate, momentum, nesterov, weightDecay, firstStep, k.StepValues());
    }

    public bool SupportsSparseConv(Conv2dGeometry g) => SparseConvolution.Supports(g.ToKernelShape());

    public void SparseConv2d(SparseMatrix weight, Tensor x, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) =>
        SparseConvolution.Forward(S(weight).Matrix, D(x), bias is null ? [] : D(bias), g.ToKernelShape(), D(result), relu);

    public void SparseConv2dInputGrad(SparseMatrix weight, Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result) =>
        SparseConvolution.InputGrad(S(weight).Transposed(), D(dy), reluOutput is null ? [] : D(reluOutput), g.ToKernelShape(), D(result));

    public void SparseConv2dWeightGrad(SparseMatrix weight, Tensor x, Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result, SparseGradWrite write, Tensor? biasGrad)
    {
        var w = S(weight);
        SettleGrad(w, result, write);
        SparseConvolution.WeightGrad(
            w.Matrix, D(x), D(dy), reluOutput is null ? [] : D(reluOutput), g.ToKernelShape(), w.GradValues, write == SparseGradWrite.Overwrite ? D(result) : [],
            biasGrad is null ? [] : D(biasGrad).AsSpan(0, g.O));
        WriteGrad(w, result, write);
    }

    public void SparseConv2dBiasGrad(Tensor dy, Tensor? reluOutput, Conv2dGeometry g, Tensor result) =>
        SparseConvolution.BiasGrad(D(dy), reluOutput is null ? [] : D(reluOutput), g.ToKernelShape(), D(result).AsSpan(0, g.O));

    private static CpuSparseMatrix S(SparseMatrix m) =>
        m as CpuSparseMatrix ?? throw new ArgumentException($"sparse: a matrix of {m.Device} given to the CPU backend");
}
