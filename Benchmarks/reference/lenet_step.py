"""PyTorch reference for LeNetStepBenchmark: one LeNet-300-100 training step at batch 60
(forward, cross-entropy, backward, Adam), timed the same way (median of many steps after warm-up).

Usage: python3 Benchmarks/reference/lenet_step.py [--threads 2] [--steps 3000]
"""
import torch

import steptime


def build():
    """The model, also used by masked_step.py."""
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 300), torch.nn.ReLU(),
        torch.nn.Linear(300, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 10))


def main():
    args = steptime.parse(threads=2, steps=3000)
    model = build()
    step = steptime.adam_step(model, 1.2e-3, torch.rand(60, 784), torch.arange(60) % 10)
    steptime.report("lenet", step, warmup=500, steps=args.steps)


if __name__ == "__main__":
    main()
