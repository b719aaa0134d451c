"""PyTorch reference for LeNetStepBenchmark: one LeNet-300-100 training step at batch 60
(forward, cross-entropy, backward, Adam), timed the same way (median of many steps after warm-up).

Usage: python3 Benchmarks/reference/lenet_step.py [--threads 2] [--steps 3000]
"""
import argparse
import statistics
import time

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 300), torch.nn.ReLU(),
        torch.nn.Linear(300, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3)
    x = torch.rand(60, 784)
    y = torch.arange(60) % 10
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(500):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    with open("/proc/self/maps") as maps:
        blas = "OpenBLAS" if "openblas" in maps.read() else "reference BLAS"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {blas}")
    print(f"pytorch lenet step: median {statistics.median(times) * 1e3:.3f} ms, "
          f"mean {statistics.mean(times) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
