using SparseNet.Engine.Devices;
using SparseNet.Engine.Tensors;
using SparseNet.Kernels;

namespace SparseNet.Tests.Engine;

/// <summary>
/// A backend for a second device that keeps its elements in host memory and runs every op with the CPU
/// backend, counting the ops it is asked to run: enough to see that tensors on a registered device reach
/// compute through that device's backend.
/// </summary>
public sealed class HostMemoryBackend : IBackend
{
    private static IBackend Cpu => Device.Cpu.Backend;

    private int _ops;

    /// <summary>The device this backend allocates for; set once the device has been created with it.</summary>
    public Device? Owner { get; set; }

    /// <summary>Ops run so far (allocation and host copies are not counted).</summary>
    public int Ops => Volatile.Read(ref _ops);

    private Device Device => Owner ?? throw new InvalidOperationException("the backend's device is not set");

    // Storages must report the owning device (not Cpu), or ops on them would go straight to the CPU backend.
    public Storage Allocate(int length, bool zeroed) =>
        new CpuStorage(zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length), Device);

    public Storage FromHost(ReadOnlySpan<float> data) => new CpuStorage(data.ToArray(), Device);

    public void ToHost(Storage source, Span<float> destination) => Cpu.ToHost(source, destination);

    public void CopyFromHost(ReadOnlySpan<float> source, Storage destination) => Cpu.CopyFromHost(source, destination);

    public IndexBuffer AllocateIndices(int length) => new CpuIndexBuffer(new int[length], Device);

    public void Fill(Storage storage, float value) => Cpu.Fill(storage, value);

    public void Copy(Storage source, Storage destination) => Cpu.Copy(source, destination);

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result) => Count().Binary(op, a, b, result);

    public void Unary(UnaryOp op, Tensor a, Tensor result) => Count().Unary(op, a, result);

    public void Affine(Tensor a, float scale, float shift, Tensor result) => Count().Affine(a, scale, shift, result);

    public void Pow(Tensor a, float exponent, Tensor result) => Count().Pow(a, exponent, result);

    public void SumTo(Tensor a, Tensor result) => Count().SumTo(a, result);

    public void MaxAlong(Tensor a, int axis, Tensor result) => Count().MaxAlong(a, axis, result);

    public void BroadcastTo(Tensor a, Tensor result) => Count().BroadcastTo(a, result);

    public void MatMul(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result) =>
        Count().MatMul(a, b, transposeA, transposeB, result);

    public bool MatMulInto(Tensor a, Tensor b, bool transposeA, bool transposeB, Tensor result, bool accumulate) =>
        Count().MatMulInto(a, b, transposeA, transposeB, result, accumulate);

    public void Transpose(Tensor a, Tensor result) => Count().Transpose(a, result);

    public void LogSoftmax(Tensor a, Tensor result) => Count().LogSoftmax(a, result);

    public void Softmax(Tensor a, Tensor result) => Count().Softmax(a, result);

    public void SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor result) =>
        Count().SoftmaxCrossEntropy(logits, labels, result);

    public void OneHot(ReadOnlySpan<int> labels, Tensor result) => Count().OneHot(labels, result);

    public void Narrow(Tensor a, int axis, int start, Tensor result) => Count().Narrow(a, axis, start, result);

    public void Pad(Tensor a, int axis, int start, Tensor result) => Count().Pad(a, axis, start, result);

    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool relu) => Count().Conv2d(x, w, bias, g, result, relu);

    public void Conv2dInputGrad(Tensor dy, Tensor w, Conv2dGeometry g, Tensor result) =>
        Count().Conv2dInputGrad(dy, w, g, result);

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Conv2dGeometry g, Tensor result) =>
        Count().Conv2dWeightGrad(x, dy, g, result);

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor result, IndexBuffer argmax) => Count().MaxPool2d(x, g, result, argmax);

    public void MaxPool2dBackward(Tensor dy, IndexBuffer argmax, Pool2dGeometry g, Tensor result) => Count().MaxPool2dBackward(dy, argmax, g, result);

    public void Gather(Tensor a, IndexBuffer index, Tensor result) => Count().Gather(a, index, result);

    public void ScatterAdd(Tensor a, IndexBuffer index, Tensor result) => Count().ScatterAdd(a, index, result);

    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor result) => Count().AvgPool2d(x, g, result);

    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor result) => Count().AvgPool2dBackward(dy, g, result);

    public void BatchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps, Tensor result, Tensor saveMean, Tensor saveInvStd, Tensor? addend, bool relu) =>
        Count().BatchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, result, saveMean, saveInvStd, addend, relu);

    public float KthSmallest(Tensor a, int k) => Count().KthSmallest(a, k);

    public void BatchNorm2dBackward(Tensor x, Tensor dy, Tensor weight, Tensor bias, Tensor saveMean, Tensor saveInvStd, bool training, bool relu, Tensor? dx, Tensor dWeight, Tensor dBias) =>
        Count().BatchNorm2dBackward(x, dy, weight, bias, saveMean, saveInvStd, training, relu, dx, dWeight, dBias);

    public void AdamStep(Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2) =>
        Count().AdamStep(theta, grad, m, v, beta1, beta2, eps, weightDecay, stepSize, invRootC2);

    public void SgdStep(Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep) =>
        Count().SgdStep(theta, grad, velocity, learningRate, momentum, nesterov, weightDecay, firstStep);

    public int CountCorrect(Tensor logits, ReadOnlySpan<int> labels) => Count().CountCorrect(logits, labels);

    public bool AllFinite(Tensor a) => Count().AllFinite(a);

    private IBackend Count()
    {
        Interlocked.Increment(ref _ops);
        return Cpu;
    }
}
