"""PyTorch reference for Conv4StepBenchmark: one Conv-4 training step on CIFAR-shaped input
(3x32x32, batch 60, Adam 3e-4): 3x3 convolutions 64-64, 2x2 max pool, 128-128, 2x2 max pool,
all with padding 1 and ReLU, then dense 8192-256-256-10. Timed as the median of many steps after warm-up.

Usage: python3 Benchmarks/reference/conv4_step.py [--threads 1] [--steps 50]
"""
import torch

import steptime


def main():
    args = steptime.parse(threads=1, steps=50)
    relu = torch.nn.ReLU
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), relu(),
        torch.nn.Conv2d(64, 64, 3, padding=1), relu(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(64, 128, 3, padding=1), relu(),
        torch.nn.Conv2d(128, 128, 3, padding=1), relu(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(128 * 8 * 8, 256), relu(),
        torch.nn.Linear(256, 256), relu(),
        torch.nn.Linear(256, 10))
    step = steptime.adam_step(model, 3e-4, torch.rand(60, 3, 32, 32), torch.arange(60) % 10)
    steptime.report("conv4", step, warmup=5, steps=args.steps)


if __name__ == "__main__":
    main()
