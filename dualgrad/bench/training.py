"""One training step, and peak memory against depth.

Step, batch 64, float32, forward gradients with the projection ("frog") and k = 16:

* FCNet 784-1024-1024-10: weight and activity perturbation, and — the part of the weight step that
  grows with the parameter count — drawing its k × P tangents alone;
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

import tracemalloc

import numpy as np

from .. import nn
from ..estimators import sample_tangents
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
        out[f"  its k×P = {K}×{size} float32 tangents alone"] = \
            (lambda: sample_tangents(K, size, "normal", rng, dtype=np.float32), "dualgrad")
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
