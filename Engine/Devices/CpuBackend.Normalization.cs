using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Devices;

/// <summary>Batch normalisation on the CPU.</summary>
internal sealed partial class CpuBackend
{
    public void BatchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps, Tensor result, Tensor saveMean, Tensor saveInvStd, Tensor? addend, bool relu) =>
        Kernels.Cpu.BatchNorm.Forward(
            D(x), x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3], D(weight), D(bias), training, momentum, eps,
            runningMean is null ? [] : D(runningMean), runningVar is null ? [] : D(runningVar), D(saveMean), D(saveInvStd), D(result), relu, addend is null ? [] : D(addend));

    public void BatchNorm2dBackward(Tensor x, Tensor dy, Tensor weight, Tensor bias, Tensor saveMean, Tensor saveInvStd, bool training, bool relu, Tensor? dx, Tensor dWeight, Tensor dBias) =>
        Kernels.Cpu.BatchNorm.Backward(
            D(x), D(dy), x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3], D(weight), D(saveMean), D(saveInvStd), training,
            dx is null ? [] : D(dx), D(dWeight), D(dBias), D(bias), relu);
}
