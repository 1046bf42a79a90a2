"""One training step, and peak memory against depth.

Step, batch 64, float32, forward gradients with the projection ("frog") and k = 16:

* FCNet 784-1024-1024-10: weight and activity perturbation, and — the part of the weight step that
  grows with the parameter count — drawing its k × P tangents alone, on ``draw_workers()`` threads and
  on one; then the weight step as ``fit`` runs it (``weight_loop``): consecutive steps with one BLAS
  thread, each step's tangents drawn during the step before by ``prefetch_tangents``'s background
  thread on the core BLAS leaves idle, beside the same loop without prefetching — and the share of the
  step's wall time that the training thread spends waiting for (or helping to draw) its tangents;
* LeNet-5 (the paper's, with batch norm) and the residual net ``ResNetSmall`` (width 8, 3 stages) on
  1×28×28 images: activity perturbation, the paper's default for networks;

each against one exact-gradient step in the same engine (the blocks' reverse rules) and, when installed,
a PyTorch backprop step (forward, backward, SGD update) of the same architecture.

Memory: the peak of NumPy allocations (tracemalloc, which NumPy reports to) during one step of an MLP
with 2 … 32 hidden layers of width 256, batch 64. The exact gradient stores every layer's cache for the
backward pass; activity perturbation stores each block's input until the global aggregation (one
activation per block); weight perturbation stores no activations — forward mode's flat profile — but
holds its k × P tangent block (sampled once and split into per-parameter views), which grows with the
parameter count; the last column removes it.
"""
from __future__ import annotations

import statistics
import time
import tracemalloc
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

from .. import nn
from ..estimators import prefetch_tangents, sample_tangents
from ..estimators.gaussian import _Draw, _seeds, draw_workers
from ..gradients import make_gradient_source
from ..optim import SGD
from .peers import torch_or_none

IN, WIDTH, CLASSES, BATCH, K = 784, 1024, 10, 64, 16

#: the networks of the step suite: name -> (title, model from an rng, per-sample input shape)
STEP_NETS = {
    "fcnet": ("FCNet 784-1024-1024-10", lambda rng: nn.FCNet(IN, WIDTH, 2, CLASSES, rng=rng), (IN,)),
    "lenet5": ("LeNet-5 (batch norm) on 1×28×28", lambda rng: nn.LeNet5(1, CLASSES, image_size=28, rng=rng),
               (1, 28, 28)),
    "resnet": ("ResNetSmall (width 8, 3 stages) on 1×28×28", lambda rng: nn.ResNetSmall(1, CLASSES, rng=rng),
               (1, 28, 28)),
}


def _problem(net="fcnet", seed=0, model=None):
    rng = np.random.default_rng(seed)
    _, make, shape = STEP_NETS[net]
    model = (model or make(rng)).astype(np.float32)
    x = rng.standard_normal((BATCH,) + shape).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    return model, x, y


def _step(model, source, x, y, seed=1):
    params, optimizer, rng = model.parameters(), SGD(1e-3), np.random.default_rng(seed)

    def step():
        _, grads = source(model, params, x, y, nn.Context(rng=rng), rng)
        optimizer.step(params, grads)
    return step


def torch_model(net, torch, in_channels: int = 1, width: int = 8):
    """The step suite's network in PyTorch (the same architecture; PyTorch's own initialisation). The residual
    net takes ``nn.ResNetSmall``'s ``in_channels`` and ``width`` (3 stages, stem stride 1); the conv suite's is
    wider, on 3×32×32 images (``conv.RESNET``)."""
    t = torch.nn
    if net == "fcnet":
        return t.Sequential(t.Linear(IN, WIDTH), t.ReLU(), t.Linear(WIDTH, WIDTH), t.ReLU(), t.Linear(WIDTH, CLASSES))
    if net == "lenet5":
        def block(cin, cout):
            return [t.Conv2d(cin, cout, 5), t.BatchNorm2d(cout), t.ReLU(), t.MaxPool2d(2)]
        return t.Sequential(*block(1, 6), *block(6, 16), t.Flatten(), t.Linear(256, 120), t.ReLU(),
                            t.Linear(120, 84), t.ReLU(), t.Linear(84, CLASSES))

    class Basic(t.Module):                                        # relu(body(x) + shortcut(x))
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = t.Sequential(t.Conv2d(cin, cout, 3, stride, 1, bias=False), t.BatchNorm2d(cout), t.ReLU(),
                                     t.Conv2d(cout, cout, 3, 1, 1, bias=False), t.BatchNorm2d(cout))
            self.shortcut = (t.Identity() if stride == 1 and cin == cout else
                             t.Sequential(t.Conv2d(cin, cout, 1, stride, bias=False), t.BatchNorm2d(cout)))

        def forward(self, x):
            return torch.relu(self.body(x) + self.shortcut(x))

    w = width
    return t.Sequential(t.Conv2d(in_channels, w, 3, 1, 1, bias=False), t.BatchNorm2d(w), t.ReLU(), Basic(w, w, 1),
                        Basic(w, 2 * w, 2), Basic(2 * w, 4 * w, 2), t.AdaptiveAvgPool2d(1), t.Flatten(),
                        t.Linear(4 * w, CLASSES))


def methods(net: str = "fcnet", peers: bool = True):
    """{name: (callable, kind)}: one step of ``net`` per method (see the module docstring)."""
    model, x, y = _problem(net)
    out = {"dualgrad exact gradient step": (_step(model, make_gradient_source("exact"), x, y), "dualgrad")}
    if net == "fcnet":
        out[f"dualgrad weight perturbation step (frog k={K})"] = \
            (_step(model, make_gradient_source("weight", method="projection", k=K), x, y), "dualgrad")
        rng, size = np.random.default_rng(2), model.num_parameters()
        out[f"  its k×P = {K}×{size} float32 tangents alone ({draw_workers()} threads)"] = \
            (lambda: sample_tangents(K, size, "normal", rng, dtype=np.float32), "dualgrad")
        out["  the same tangents on one thread"] = \
            (lambda: _Draw(_seeds(rng, K * size), (K, size)).result(), "dualgrad")       # the caller fills every block
    out[f"dualgrad activity perturbation step (frog k={K})"] = \
        (_step(model, make_gradient_source("activity", method="projection", k=K), x, y), "dualgrad")
    torch = torch_or_none() if peers else None
    if torch is not None:
        module = torch_model(net, torch)
        opt = torch.optim.SGD(module.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(module(tx), ty).backward()
            opt.step()
        out["torch backprop step"] = (torch_step, "peer")
    return out


#: the rows of ``weight_loop``
LOOP_PREFETCH = "dualgrad weight perturbation, fit's loop (1 BLAS thread, tangents prefetched)"
LOOP_PLAIN = "  the same loop, not prefetched"


def weight_loop(budget: float = 1.0, steps: int = 6) -> dict:
    """The FCNet weight-perturbation step in a training loop as ``fit`` runs it: one BLAS thread, and within
    ``prefetch_tangents`` — beside the same loop without prefetching. Blocks of ``steps`` consecutive steps
    of each alternate (about ``budget`` seconds of each in all); the first step of a prefetching block has
    nothing prefetched yet (in ``fit`` that is the first step of the run) and is left out.

    Returns ``{"results": {row: (median s, min s, steps)}, "wait": {...}}``: per step of the prefetching loop,
    the median time its training thread spent inside the draw (``Prefetch.waited_seconds``: waiting for
    blocks or filling them), its share of the median step, and the share of the loop's wall time (all steps:
    a slow phase of a shared machine weighs in it)."""
    model, x, y = _problem()
    params, optimizer, rng = model.parameters(), SGD(1e-3), np.random.default_rng(1)
    source = make_gradient_source("weight", method="projection", k=K)
    times = {LOOP_PREFETCH: [], LOOP_PLAIN: []}
    waits = []

    def block(name):
        with threadpool_limits(1), (prefetch_tangents() if name == LOOP_PREFETCH else nullcontext()) as prefetch:
            for i in range(steps + 1):
                t0, waited = time.perf_counter(), prefetch.waited_seconds if prefetch else 0.0
                _, grads = source(model, params, x, y, nn.Context(rng=rng), rng)
                optimizer.step(params, grads)
                if i > 0:                                       # the cold first step (or the warm-up) left out
                    times[name].append(time.perf_counter() - t0)
                    if prefetch:
                        waits.append(prefetch.waited_seconds - waited)

    block(LOOP_PLAIN)                                           # warm-up
    times[LOOP_PLAIN].clear()
    rounds = max(2, round(budget / (steps * 0.15)))
    for _ in range(rounds):
        for name in (LOOP_PREFETCH, LOOP_PLAIN):
            block(name)
    results = {name: (statistics.median(ts), min(ts), len(ts)) for name, ts in times.items()}
    wait = statistics.median(waits)
    return {"results": results, "wait": {"median_ms": 1e3 * wait, "median_share": wait / results[LOOP_PREFETCH][0],
                                         "share": sum(waits) / sum(times[LOOP_PREFETCH]), "steps": len(waits)}}


def primal(net: str = "fcnet"):
    model, x, _ = _problem(net)
    params = model.parameters()
    return lambda: model.forward(x, params, nn.Context(training=False))


def peak_memory(depths=(2, 4, 8, 16, 32), width=256) -> list[dict]:
    """Peak traced memory (MiB) of one step per gradient source and depth, beyond what is held before it."""
    rows = []
    for depth in depths:
        model, x, y = _problem(model=nn.FCNet(IN, width, depth, CLASSES, rng=np.random.default_rng(0)))
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
