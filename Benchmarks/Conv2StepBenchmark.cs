namespace SparseNet.Benchmarks;

/// <summary>
/// One Conv-2 training step on CIFAR-shaped input (3×32×32, batch 60, Adam at 2e-4 as in Frankle and Carbin
/// 2019); <c>reference/conv2_step.py</c> times it in PyTorch.
/// </summary>
public class Conv2StepBenchmark() : TrainStepBenchmark("conv2", [3, 32, 32], 2e-4f);
