"""PyTorch reference for SparseStepBenchmark, SparseLinearBenchmark and SparseConvBenchmark: masked training, the way
PyTorch and the lottery-ticket codebases (open_lth, torch.nn.utils.prune) train a pruned network. The weight is
multiplied by a 0/1 mask and used in the ordinary dense op; nothing is skipped, so a step costs the same at every
sparsity. Each case runs at 0, 90 and 98% sparsity (a random mask per weight tensor, pruned weights zero) and prints
the median and mean time of one step:

  lenet   one training step of LeNet-300-100 (784-300-100-10, batch 60): forward, cross-entropy, backward, mask, Adam
  conv2   the same for Conv-2 (the model in conv2_step.py, 3x32x32, batch 60)
  linear  forward + backward (y = x.W^T, dx, dW) of one masked linear layer without bias, SparseProp's shapes
          768->3072 at batch 2048 and 4096->4096 at batch 256
  conv    forward + backward (y, dx, dW) of Conv-2's 64->64 3x3 convolution (padding 1, 32x32, batch 60, no bias)

Both networks train with Adam 1.2e-3, as SparseStepBenchmark does (conv2_step.py uses 2e-4; the rate does not change
the time). Every weight of two or more dimensions is pruned (every Linear and Conv2d weight), biases are not.

How the mask is applied (--method):
  mask   (default) an explicit mask multiply: before each forward the weights are multiplied in place by their 0/1
         mask (param.data *= mask, as open_lth's PrunedModel.forward does), and after backward the gradients of the
         pruned weights are zeroed (grad *= mask) before the Adam step, so Adam never moves a pruned weight.
  prune  torch.nn.utils.prune.random_unstructured: the module keeps weight_orig and the buffer weight_mask, and a
         forward pre-hook computes weight = weight_orig * weight_mask each pass; autograd masks weight_orig's
         gradient through that multiply. Its random mask prunes exactly round(sparsity * size) weights.
With --method mask the single-layer cases hold the masked weight and mask dW after backward; with prune they run the
pruned module, so the multiply and its backward are part of the step.

Usage: python3 Benchmarks/reference/masked_step.py [--threads 2] [--steps N] [--cases lenet,conv2,linear,conv]
                                                   [--sparsities 0,90,98] [--method mask|prune]
Without --steps each case runs its own number of steps (many for LeNet, a few for the large layers) so that the
whole script takes about a minute on 2 cores; --steps N times every case N steps after min(its warm-up, N/5 + 1).
"""
import argparse
import contextlib
import io

import torch
import torch.nn.functional as F
from torch.nn.utils import prune

import steptime
from conv2_step import build as conv2
from lenet_step import build as lenet

CASES = ("lenet", "conv2", "linear", "conv")
LINEAR_SHAPES = ((768, 3072, 2048), (4096, 4096, 256))  # (inputs, outputs, batch), as SparseLinearBenchmark
# Default (warm-up, timed) steps per case at each sparsity, for about a minute in all on 2 cores.
DEFAULT_STEPS = {"lenet": (200, 1000), "conv2": (2, 15), "linear": (2, 10), "conv": (2, 15)}


def parse():
    """steptime.parse's --threads and --steps (None: per-case defaults), plus --cases, --sparsities and --method."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of " + ",".join(CASES))
    parser.add_argument("--sparsities", default="0,90,98", help="comma-separated percentages of weights pruned")
    parser.add_argument("--method", choices=("mask", "prune"), default="mask")
    args = parser.parse_args()
    args.cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {','.join(unknown)}; choose from {','.join(CASES)}")
    args.sparsities = [int(s) for s in args.sparsities.split(",") if s]
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    return args


def random_mask(weight, sparsity):
    """A 0/1 mask of weight's shape with each entry pruned (0) with probability sparsity percent, as the benchmarks."""
    return (torch.rand_like(weight) * 100 >= sparsity).float()


def prunable(model):
    """The Linear and Conv2d modules of model, whose weights are pruned."""
    return [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


class MaskedAdam:
    """Adam that zeros the gradients of pruned weights before each step (the zero_grad/step pair train_step calls)."""

    def __init__(self, params, masks, lr):
        self.opt = torch.optim.Adam(params, lr=lr)
        self.masks = masks

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        for weight, mask in self.masks:
            weight.grad.mul_(mask)
        self.opt.step()


class OpenLthMasked(torch.nn.Module):
    """open_lth's PrunedModel: multiplies each pruned weight in place by its mask before every forward."""

    def __init__(self, model, masks):
        super().__init__()
        self.model = model
        self.masks = masks

    def forward(self, x):
        with torch.no_grad():
            for weight, mask in self.masks:
                weight.mul_(mask)
        return self.model(x)


def network_step(build, sparsity, method, x):
    """A closure running one masked training step (forward, cross-entropy, backward, Adam) of a fresh model from
    build() pruned at random to sparsity percent."""
    model = build()
    y = torch.arange(x.shape[0]) % 10
    if method == "prune":
        for module in prunable(model):
            prune.random_unstructured(module, "weight", amount=sparsity / 100)
        return steptime.adam_step(model, 1.2e-3, x, y)
    masks = [(m.weight, random_mask(m.weight, sparsity)) for m in prunable(model)]
    with torch.no_grad():
        for weight, mask in masks:
            weight.mul_(mask)
    opt = MaskedAdam(model.parameters(), masks, 1.2e-3)
    return steptime.train_step(OpenLthMasked(model, masks), opt, x, y)


def layer_step(module, sparsity, method, x):
    """A closure running forward and backward (y, dx, dW) of one bias-free Linear or Conv2d module whose weight is
    pruned at random to sparsity percent."""
    x = x.requires_grad_()
    if method == "prune":
        prune.random_unstructured(module, "weight", amount=sparsity / 100)
        weight = module.weight_orig
        mask = None
    else:
        weight = module.weight
        mask = random_mask(weight, sparsity)
        with torch.no_grad():
            weight.mul_(mask)
    dy = torch.rand_like(module(x)) * 2 - 1

    def step():
        dx, dw = torch.autograd.grad(module(x), (x, weight), dy)
        if mask is not None:
            dw.mul_(mask)
        return dx, dw

    return step


class Reporter:
    """steptime.report, with its machine line printed once and the case, sparsity and thread count in each name."""

    def __init__(self, args):
        self.args = args
        self.header_printed = False

    def __call__(self, case, label, sparsity, step):
        warmup, steps = DEFAULT_STEPS[case]
        if self.args.steps is not None:
            warmup, steps = min(warmup, self.args.steps // 5 + 1), self.args.steps
        name = f"masked {label} sparsity {sparsity}% {torch.get_num_threads()} threads"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            steptime.report(name, step, warmup=warmup, steps=steps)
        header, line = out.getvalue().splitlines()
        if not self.header_printed:
            print(f"{header}, masks by {self.args.method}", flush=True)
            self.header_printed = True
        print(line, flush=True)


def main():
    args = parse()
    report = Reporter(args)
    for case in args.cases:
        if case == "linear":
            shapes = [(f"linear {i}->{o} b{b}", lambda i=i, o=o: torch.nn.Linear(i, o, bias=False),
                       (b, i)) for i, o, b in LINEAR_SHAPES]
        elif case == "conv":
            shapes = [("conv 64->64 3x3 @32 b60", lambda: torch.nn.Conv2d(64, 64, 3, padding=1, bias=False),
                       (60, 64, 32, 32))]
        else:
            shapes = [(case, lenet if case == "lenet" else conv2, (60, 784) if case == "lenet" else (60, 3, 32, 32))]
        for label, build, x_shape in shapes:
            for sparsity in args.sparsities:
                x = torch.rand(*x_shape)
                if case in ("lenet", "conv2"):
                    step = network_step(build, sparsity, args.method, x)
                else:
                    step = layer_step(build(), sparsity, args.method, x)
                report(case, label, sparsity, step)


if __name__ == "__main__":
    main()
