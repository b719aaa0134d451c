"""Shared by the PyTorch reference scripts: thread setup, and the median time of a training step."""
import argparse
import statistics
import time

import torch


def parse(threads, steps):
    """Command-line options --threads and --steps; sets PyTorch's thread count and seed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=threads)
    parser.add_argument("--steps", type=int, default=steps)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    return args


def report(name, step, warmup, steps):
    """Runs step() warmup times, then times it steps times and prints the median and mean in ms."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    with open("/proc/self/maps") as maps:
        blas = "OpenBLAS" if "openblas" in maps.read() else "reference BLAS"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {blas}")
    print(f"pytorch {name} step: median {statistics.median(times) * 1e3:.3f} ms, "
          f"mean {statistics.mean(times) * 1e3:.3f} ms")


def train_step(model, opt, x, y):
    """A closure running one forward, cross-entropy, backward and optimizer update of model on (x, y)."""
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def adam_step(model, lr, x, y):
    """train_step with Adam at learning rate lr."""
    return train_step(model, torch.optim.Adam(model.parameters(), lr=lr), x, y)
