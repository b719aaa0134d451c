"""PyTorch reference for Conv2StepBenchmark: one Conv-2 training step on CIFAR-shaped input
(3x32x32, batch 60, Adam 2e-4): two 3x3 convolutions of 64 with padding 1, ReLU, 2x2 max pool,
dense 16384-256-256-10. Timed as the median of many steps after warm-up.

Usage: python3 Benchmarks/reference/conv2_step.py [--threads 1] [--steps 50]
"""
import torch

import steptime


def build():
    """The model, also used by masked_step.py."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 16 * 16, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10))


def main():
    args = steptime.parse(threads=1, steps=50)
    model = build()
    step = steptime.adam_step(model, 2e-4, torch.rand(60, 3, 32, 32), torch.arange(60) % 10)
    steptime.report("conv2", step, warmup=5, steps=args.steps)


if __name__ == "__main__":
    main()
