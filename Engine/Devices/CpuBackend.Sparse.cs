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

    public void SparseLinearBackward(SparseMatrix weight, Tensor workspace, Tensor dy, Tensor dyWorkspace, Tensor? dx, Tensor? weightGrad, bool accumulate)
    {
        var w = S(weight);
        int batch = dy.Shape[0];
        var transposed = dx is null ? null : w.Transposed();
        if (weightGrad is null || !accumulate)
        {
            var values = Scratch(w.Count);
            SparseLinear.Backward(w.Matrix, transposed, D(workspace), D(dy), batch, D(dyWorkspace), dx is null ? [] : D(dx), values, weightGrad is null ? [] : D(weightGrad));
            return;
        }

        // Adding into a gradient already there: the kept values are summed in at their positions.
        var sums = Scratch(w.Count);
        SparseLinear.Backward(w.Matrix, transposed, D(workspace), D(dy), batch, D(dyWorkspace), dx is null ? [] : D(dx), sums, []);
        AddAtKept(w.Matrix, sums, D(weightGrad));
    }

    private static void AddAtKept(SparseRows rows, ReadOnlySpan<float> values, Span<float> dense)
    {
        var starts = rows.RowStarts;
        var columns = rows.ColumnIndices;
        for (int r = 0; r < rows.Rows; r++)
        {
            var row = dense.Slice(r * rows.Columns, rows.Columns);
            for (int e = starts[r]; e < starts[r + 1]; e++)
            {
                row[columns[e]] += values[e];
            }
        }
    }

    public void SparseAdamStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2)
    {
        var rows = S(kept).Matrix;
        AdamKernel.StepAt(rows.RowStarts, rows.ColumnIndices, rows.Columns, D(theta), D(grad), D(m), D(v), beta1, beta2, eps, weightDecay, stepSize, invRootC2);
    }

    public void SparseSgdStep(SparseMatrix kept, Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep)
    {
        var rows = S(kept).Matrix;
        SparseSteps.Sgd(rows.RowStarts, rows.ColumnIndices, rows.Columns, D(theta), D(grad), velocity is null ? [] : D(velocity), learningRate, momentum, nesterov, weightDecay, firstStep);
    }

    public bool SupportsSparseConv(Conv2dGeometry g) => SparseConvolution.Supports(g.ToKernelShape());

    public void SparseConv2d(SparseMatrix weight, Tensor x, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) =>
        SparseConvolution.Forward(S(weight).Matrix, D(x), bias is null ? [] : D(bias), g.ToKernelShape(), D(result), relu);

    public void SparseConv2dInputGrad(SparseMatrix weight, Tensor dy, Conv2dGeometry g, Tensor result) =>
        SparseConvolution.InputGrad(S(weight).Transposed(), D(dy), g.ToKernelShape(), D(result));

    public void SparseConv2dWeightGrad(SparseMatrix weight, Tensor x, Tensor dy, Conv2dGeometry g, Tensor result, bool accumulate)
    {
        var w = S(weight);
        var values = Scratch(w.Count);
        SparseConvolution.WeightGrad(w.Matrix, D(x), D(dy), g.ToKernelShape(), values, accumulate ? [] : D(result));
        if (accumulate)
        {
            AddAtKept(w.Matrix, values, D(result));
        }
    }

    private static CpuSparseMatrix S(SparseMatrix m) =>
        m as CpuSparseMatrix ?? throw new ArgumentException($"sparse: a matrix of {m.Device} given to the CPU backend");

    // The weight gradient's kept values before they are added in; one buffer per thread, grown as needed.
    [ThreadStatic]
    private static float[]? t_sparseValues;

    private static Span<float> Scratch(int length)
    {
        if (t_sparseValues is null || t_sparseValues.Length < length)
        {
            t_sparseValues = new float[length];
        }

        return t_sparseValues.AsSpan(0, length);
    }
}
