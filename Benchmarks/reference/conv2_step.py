"""PyTorch reference for Conv2StepBenchmark: one Conv-2 training step on CIFAR-shaped input
(3x32x32, batch 60, Adam 2e-4): two 3x3 convolutions of 64 with padding 1, ReLU, 2x2 max pool,
dense 16384-256-256-10. Timed as the median of many steps after warm-up.

Usage: python3 Benchmarks/reference/conv2_step.py [--threads 1] [--steps 50]
"""
import argparse
import statistics
import time

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 16 * 16, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.rand(60, 3, 32, 32)
    y = torch.arange(60) % 10
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"pytorch conv2 step: median {statistics.median(times) * 1e3:.1f} ms, "
          f"mean {statistics.mean(times) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
