"""Named models and default learning rates for ``dualgrad train`` / ``dualgrad compare``.

Learning rates, in this order (``default_lr`` returns the value and its source):

1. a tuned table shipped with dualgrad for this dataset: ``experiments/lrs/<dataset>.csv`` (for the bundled
   digits: our own grid search, ``dualgrad experiment lr-search``), then the paper's tables for MNIST
   (``fc_nns.csv``: FCNet with W ∈ {256, 1024, 4096});
2. otherwise the rule from the gradient-descent contraction analysis (docs/estimators.md): with n the
   number of perturbed values per sample (activities, or parameters for weight perturbation),
   lr_mean = lr_bp · k / (n + k + 1) and lr_projection = lr_bp · n / (n + k + 1) (= lr_bp for k ≥ n),
   from a base lr_bp of 0.05.
"""
from __future__ import annotations

import numpy as np

from . import nn
from .experiments.lrs import LearningRateNotFound, lr_source

BASE_LR = 0.05

MODELS = ("fcnet", "lenet5", "resnet", "vit")


def build_model(name: str, input_shape: tuple, classes: int, *, width: int = 256, hidden_layers: int = 2,
                rng: np.random.Generator):
    """A model by name for inputs of ``input_shape`` (C, H, W): fcnet (the paper's FC net), lenet5,
    resnet (ResNetSmall, ``width`` channels in the stem), vit (ViTSmall)."""
    c, h, w = input_shape
    if name == "fcnet":
        return nn.FCNet(c * h * w, width, hidden_layers, classes, rng=rng)
    if name == "lenet5":
        if h != w:
            raise ValueError(f"lenet5 needs square images, got {h}×{w}")
        return nn.LeNet5(c, classes, image_size=h, rng=rng)
    if name == "resnet":
        return nn.ResNetSmall(c, classes, width=width if width < 64 else 8, rng=rng)
    if name == "vit":
        patch = 2 if h <= 16 else 4
        return nn.ViTSmall(image_size=h, patch=patch, in_channels=c, classes=classes, rng=rng)
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


def paper_approach(grad: str, method: str, k: int) -> str | None:
    """The paper's name of a configuration: bp, fg (k = 1), mean or frog; None for other aggregations."""
    if grad in ("exact", "bp"):
        return "bp"
    if method in ("mean", "fg") and k == 1:
        return "fg"
    return {"mean": "mean", "projection": "frog", "frog": "frog"}.get(method)


def default_lr(model: str, width: int, dataset: str, grad: str, method: str, k: int, n: int) -> tuple[float, str]:
    """(learning rate, where it comes from) for a training configuration; see the module docstring."""
    approach = paper_approach(grad, method, k)
    if approach is not None and model == "fcnet":
        for table, task, data in ((dataset, f"fcnet_w={width}", None), ("fc_nns", f"fc_w={width}", "mnist")):
            if data is not None and dataset != data:
                continue
            try:
                lr, source = lr_source(table, task, approach=approach, k=k, dataset=data)
                return lr, f"lrs/{table}.csv ({source})"
            except (LearningRateNotFound, ValueError):
                continue
    if approach == "bp":
        return BASE_LR, "base learning rate"
    if method in ("mean", "fg", "sum"):
        lr = BASE_LR * k / (n + k + 1) / (k if method == "sum" else 1)
        return lr, f"rule lr_bp·k/(n+k+1) with n = {n}"
    return BASE_LR * n / (n + k + 1), f"rule lr_bp·n/(n+k+1) with n = {n}"
