"""Parameter initialisers, PyTorch's defaults drawn from a NumPy Generator.

Every initialiser takes the Generator first and returns a float64 NumPy array; cast a whole model
afterwards with ``Module.astype``. Weights of dense layers are stored ``(in, out)`` here, so the
fans of a ``(in, out)`` matrix are ``fan_in = in`` and ``fan_out = out``.
"""
from __future__ import annotations

import math

import numpy as np


def generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself if it is a Generator, else ``np.random.default_rng(rng)`` (a seed, or None for fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def uniform(rng: np.random.Generator, shape: tuple, bound: float) -> np.ndarray:
    """U(−bound, bound): with bound = 1/√fan_in, PyTorch's default for Linear and Conv2d weights and biases
    (``kaiming_uniform_(a=√5)`` reduces to exactly this bound)."""
    return rng.uniform(-bound, bound, shape)


def xavier_uniform(rng: np.random.Generator, fan_in: int, fan_out: int, shape: tuple) -> np.ndarray:
    """U(±√(6 / (fan_in + fan_out))), PyTorch's ``xavier_uniform_`` (attention in-projection, ViT MLP weights)."""
    return uniform(rng, shape, math.sqrt(6.0 / (fan_in + fan_out)))


def trunc_normal(rng: np.random.Generator, shape: tuple, std: float, bound: float = 2.0) -> np.ndarray:
    """N(0, std²) redrawn wherever |value| > ``bound``, as PyTorch's ``trunc_normal_(std=std)`` whose default
    bounds are the absolute values ±2 (not ±2 std)."""
    out = rng.normal(0.0, std, shape)
    outside = np.abs(out) > bound
    while outside.any():
        out[outside] = rng.normal(0.0, std, int(outside.sum()))
        outside = np.abs(out) > bound
    return out
