using SparseNet.Engine.Optim;

namespace SparseNet.Benchmarks;

/// <summary>
/// One ResNet-20 training step on CIFAR-shaped input (3×32×32, batch 128, SGD at 0.1 with momentum 0.9 and weight
/// decay 1e-4, batch norm in training mode: open_lth's <c>cifar_resnet_20</c> recipe); <c>reference/resnet20_step.py</c>
/// times it in PyTorch.
/// </summary>
public class ResNet20StepBenchmark() : TrainStepBenchmark("resnet20", [3, 32, 32], 0.1f, batch: 128, (model, lr) => new Sgd(model.Parameters(), lr, momentum: 0.9f, nesterov: false, weightDecay: 1e-4f));
