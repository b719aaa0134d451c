namespace SparseNet.Benchmarks;

/// <summary>One LeNet-300-100 training step at batch 60 (Adam 1.2e-3); <c>reference/lenet_step.py</c> times it in PyTorch.</summary>
public class LeNetStepBenchmark() : TrainStepBenchmark("lenet_300_100", [784], 1.2e-3f);
