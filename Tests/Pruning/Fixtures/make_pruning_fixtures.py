"""Golden pruning-at-initialisation scores computed with PyTorch, for SparseNet's tests.

Builds a tiny fixed ReLU network (12-10-8-4) and batch, computes in float64
  * SNIP (Lee et al. 2019): |dL/dW * W| normalised to sum 1 over the three weight tensors,
  * GraSP (Wang et al. 2020, T = 200, data in two halves as in the authors' code): the gradient g,
    the exact Hessian-gradient product Hg by double backward, and the score -W * Hg,
  * SynFlow (Tanaka et al. 2020), one round: |dR/dW * W| with all parameters made non-negative and an
    all-ones input, R = sum of the outputs,
and writes them, with the network and batch, as float32 to pruning_scores.safetensors beside this file.

Usage: /usr/bin/python3 Tests/Pruning/Fixtures/make_pruning_fixtures.py
"""
import json
import os
import struct

import torch

torch.set_default_dtype(torch.float64)
NAMES = ["fc1", "fc2", "fc3"]
SIZES = [(10, 12), (8, 10), (4, 8)]


def build():
    torch.manual_seed(0)
    params = {}
    for name, (out_f, in_f) in zip(NAMES, SIZES):
        w = torch.empty(out_f, in_f)
        torch.nn.init.xavier_normal_(w)
        params[f"{name}.weight"] = w
        params[f"{name}.bias"] = torch.empty(out_f).uniform_(-0.1, 0.1)
    torch.manual_seed(1)
    x = torch.rand(8, 12)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    # Round to float32 first: the C# side starts from the stored float32 values.
    params = {k: v.float().double() for k, v in params.items()}
    return params, x.float().double(), y


def forward(params, x):
    h = torch.relu(x @ params["fc1.weight"].T + params["fc1.bias"])
    h = torch.relu(h @ params["fc2.weight"].T + params["fc2.bias"])
    return h @ params["fc3.weight"].T + params["fc3.bias"]


def weights_of(params):
    return [params[f"{n}.weight"] for n in NAMES]


def snip(params, x, y):
    p = {k: v.clone().requires_grad_(k.endswith("weight")) for k, v in params.items()}
    loss = torch.nn.functional.cross_entropy(forward(p, x), y)
    grads = torch.autograd.grad(loss, weights_of(p))
    sal = [(g * w).abs() for g, w in zip(grads, weights_of(params))]
    total = sum(s.sum() for s in sal)
    return [s / total for s in sal]


def grasp(params, x, y, temperature=200.0):
    p = {k: v.clone().requires_grad_(k.endswith("weight")) for k, v in params.items()}
    w = weights_of(p)
    halves = [(x[:4], y[:4]), (x[4:], y[4:])]
    g = None
    for xi, yi in halves:
        loss = torch.nn.functional.cross_entropy(forward(p, xi) / temperature, yi)
        gi = torch.autograd.grad(loss, w)
        g = list(gi) if g is None else [a + b for a, b in zip(g, gi)]
    g = [t.detach() for t in g]
    hg = [torch.zeros_like(t) for t in w]
    for xi, yi in halves:
        loss = torch.nn.functional.cross_entropy(forward(p, xi) / temperature, yi)
        gf = torch.autograd.grad(loss, w, create_graph=True)
        z = sum((a * b).sum() for a, b in zip(g, gf))
        hz = torch.autograd.grad(z, w)
        hg = [a + b for a, b in zip(hg, hz)]
    score = [-wi.detach() * h for wi, h in zip(w, hg)]
    return g, hg, score, halves


def grad_sum(params, halves, temperature):
    p = {k: v.clone().requires_grad_(k.endswith("weight")) for k, v in params.items()}
    total = None
    for xi, yi in halves:
        loss = torch.nn.functional.cross_entropy(forward(p, xi) / temperature, yi)
        gi = torch.autograd.grad(loss, weights_of(p))
        total = list(gi) if total is None else [a + b for a, b in zip(total, gi)]
    return total


def synflow(params):
    p = {k: v.abs().clone().requires_grad_(k.endswith("weight")) for k, v in params.items()}
    r = forward(p, torch.ones(1, 12)).sum()
    grads = torch.autograd.grad(r, weights_of(p))
    return [(g * w).abs() for g, w in zip(grads, weights_of(p))]


def write_safetensors(path, tensors, metadata):
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def main():
    params, x, y = build()
    out = {"input": x, "labels": y.double()}
    out.update(params)
    for n, s in zip(NAMES, snip(params, x, y)):
        out[f"snip.{n}.weight"] = s
    g, hg, score, halves = grasp(params, x, y)
    for n, a, b, c in zip(NAMES, g, hg, score):
        out[f"grasp.g.{n}.weight"] = a
        out[f"grasp.hg.{n}.weight"] = b
        out[f"grasp.score.{n}.weight"] = c
    out["grasp.temperature"] = torch.tensor([200.0])
    for n, s in zip(NAMES, synflow(params)):
        out[f"synflow.{n}.weight"] = s

    # Hg against a central difference of the summed gradient along g (float64).
    eps = 1e-6
    plus = {k: v.clone() for k, v in params.items()}
    minus = {k: v.clone() for k, v in params.items()}
    for n, gi in zip(NAMES, g):
        plus[f"{n}.weight"] = params[f"{n}.weight"] + eps * gi
        minus[f"{n}.weight"] = params[f"{n}.weight"] - eps * gi
    fd = [(a - b) / (2 * eps) for a, b in zip(grad_sum(plus, halves, 200.0), grad_sum(minus, halves, 200.0))]
    rel = max(((h - f).abs().max() / h.abs().max()).item() for h, f in zip(hg, fd))
    print(f"GraSP Hg vs finite difference: max relative error {rel:.2e}")
    assert rel < 1e-5, rel

    metadata = {
        "network": "fc1 [10,12] relu fc2 [8,10] relu fc3 [4,8]; xavier_normal_ weights (seed 0), biases U(-0.1,0.1); input U(0,1) (seed 1); labels 0,1,2,3,0,1,2,3",
        "snip": "|dL/dW * W| / sum over all three weights; L = mean cross-entropy on the whole batch",
        "grasp": "T=200; halves = examples 0-3 and 4-7; g = sum of half gradients; Hg = sum over halves of d(g . dL_half/dW)/dW; score = -W * Hg",
        "synflow": "all parameters made non-negative, input ones [1,12], R = sum of outputs, score |dR/dW * W|",
        "dtype": "computed in float64, stored as float32",
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pruning_scores.safetensors")
    write_safetensors(path, out, metadata)
    for n in NAMES:
        print(n, "snip sum", float(out[f"snip.{n}.weight"].sum()), "hg norm", float(out[f"grasp.hg.{n}.weight"].norm()), "synflow max", float(out[f"synflow.{n}.weight"].max()))
    print("wrote", path)


if __name__ == "__main__":
    main()
