namespace SparseNet.Benchmarks;

/// <summary>
/// One Conv-4 training step on CIFAR-shaped input (3×32×32, batch 60, Adam at 3e-4 as in Frankle and Carbin
/// 2019); <c>reference/conv4_step.py</c> times it in PyTorch.
/// </summary>
public class Conv4StepBenchmark() : TrainStepBenchmark("conv4", [3, 32, 32], 3e-4f);
