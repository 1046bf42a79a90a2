"""One training step, and peak memory against depth.

Step: FCNet 784-1024-1024-10 on a batch of 64, float32: forward-gradient steps with the
projection and k = 16 (weight and activity perturbation) against one exact-gradient step in the same
engine (the blocks' reverse rules) and, when installed, a PyTorch backprop step (forward, backward,
SGD update).

Memory: the peak of NumPy allocations (tracemalloc, which NumPy reports to) during one step of an MLP
with 2 … 32 hidden layers of width 256, batch 64. The exact gradient stores every layer's cache for the
backward pass; activity perturbation stores each block's input until the global aggregation (one
activation per block); weight perturbation stores no activations — forward mode's flat profile — but
holds its k × P tangent block (sampled once and split into per-parameter views), which grows with the
parameter count; the last column removes it.
"""
from __future__ import annotations

import tracemalloc

import numpy as np

from .. import nn
from ..gradients import make_gradient_source
from ..optim import SGD
from .peers import torch_or_none

IN, WIDTH, CLASSES, BATCH, K = 784, 1024, 10, 64, 16


def _problem(width=WIDTH, hidden_layers=2, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.FCNet(IN, width, hidden_layers, CLASSES, rng=rng).astype(np.float32)
    x = rng.standard_normal((BATCH, IN)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    return model, x, y


def _step(model, source, x, y, seed=1):
    params, optimizer, rng = model.parameters(), SGD(1e-3), np.random.default_rng(seed)

    def step():
        _, grads = source(model, params, x, y, nn.Context(rng=rng), rng)
        optimizer.step(params, grads)
    return step


def methods():
    model, x, y = _problem()
    out = {
        "dualgrad exact gradient step": (_step(model, make_gradient_source("exact"), x, y), "dualgrad"),
        f"dualgrad weight perturbation step (frog k={K})":
            (_step(model, make_gradient_source("weight", method="projection", k=K), x, y), "dualgrad"),
        f"dualgrad activity perturbation step (frog k={K})":
            (_step(model, make_gradient_source("activity", method="projection", k=K), x, y), "dualgrad"),
    }
    torch = torch_or_none()
    if torch is not None:
        net = torch.nn.Sequential(torch.nn.Linear(IN, WIDTH), torch.nn.ReLU(), torch.nn.Linear(WIDTH, WIDTH),
                                  torch.nn.ReLU(), torch.nn.Linear(WIDTH, CLASSES))
        opt = torch.optim.SGD(net.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(tx), ty).backward()
            opt.step()
        out["torch backprop step"] = (torch_step, "peer")
    return out


def primal():
    model, x, y = _problem()
    params = model.parameters()
    return lambda: model.forward(x, params, nn.Context(training=False))


def peak_memory(depths=(2, 4, 8, 16, 32), width=256) -> list[dict]:
    """Peak traced memory (MiB) of one step per gradient source and depth, beyond what is held before it."""
    rows = []
    for depth in depths:
        model, x, y = _problem(width, depth)
        params = model.parameters()
        row = {"hidden_layers": depth}
        for name, source in (("exact", make_gradient_source("exact")),
                             ("weight", make_gradient_source("weight", method="projection", k=K)),
                             ("activity", make_gradient_source("activity", method="projection", k=K))):
            rng = np.random.default_rng(0)
            source(model, params, x, y, nn.Context(rng=rng), rng)          # warm-up (shape caches)
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            source(model, params, x, y, nn.Context(rng=rng), rng)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            row[name] = (peak - base) / 2 ** 20
        # the k × P tangent block itself (split per parameter as views) is inherent to weight perturbation
        row["weight, beyond its tangents"] = row["weight"] - K * model.num_parameters() * 4 / 2 ** 20
        rows.append(row)
    return rows
