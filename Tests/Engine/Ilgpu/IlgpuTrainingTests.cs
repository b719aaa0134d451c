using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Training;

namespace SparseNet.Tests.Engine.Ilgpu;

/// <summary>
/// A small LeNet-300-100 training on ILGPU's CPU accelerator (every op a GPU kernel) against the same training on the
/// CPU backend: same initial weights, same batches, accuracy within 0.5 points.
/// </summary>
/// <remarks>
/// Eight steps and 800 test images keep it near 25 s: the CPU accelerator runs each tiled SGEMM group as 256 threads
/// meeting at barriers, about 3 s per LeNet step on 2 cores.
/// </remarks>
public class IlgpuTrainingTests
{
    [Test]
    public void LeNet_TrainedOnTheGpuPath_MatchesTheCpuWithinHalfAPoint()
    {
        var (allTrain, allTest) = DatasetCatalog.Load("mnist-10k");
        var train = allTrain.Sample(1200, seed: 3);
        var test = allTest.Sample(800, seed: 4);
        var gpu = AcceleratorDevices.TryGet("ilgpu-cpu")!;

        (EvalResult Result, float Loss) Train(Device device)
        {
            var model = ModelZoo.Create("lenet_300_100", train.FeatureShape, train.NumClasses, InitScheme.GlorotNormal, seed: 7).To(device);
            var trainer = new Trainer(model, new Adam(model.Parameters(), 1.2e-3f), new LearningRateSchedule(1.2e-3f), train, batchSize: 60, seed: 7);
            float loss = 0;
            trainer.TrainTo(8, p => loss = p.Loss);
            return (Trainer.Evaluate(model, test), loss);
        }

        var (cpu, cpuLoss) = Train(Device.Cpu);
        var (onGpu, gpuLoss) = Train(gpu);
        Assert.That(cpu.Accuracy, Is.GreaterThan(0.5), "the training learned something");
        Assert.That(Math.Abs(onGpu.Accuracy - cpu.Accuracy), Is.LessThanOrEqualTo(0.005), $"accuracy {onGpu.Accuracy:P2} on the GPU path vs {cpu.Accuracy:P2} on the CPU");
        Assert.That(gpuLoss, Is.EqualTo(cpuLoss).Within(1e-3f), "last batch loss");
        Assert.That(onGpu.Loss, Is.EqualTo(cpu.Loss).Within(1e-3));
    }
}
