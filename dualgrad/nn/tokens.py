"""Turning images into tokens and tokens into a class vector: the input and output ends of a ViT.

Tokens are ``(B, T, D)``. As in torchvision's ViT: a patch embedding (a conv with stride = kernel =
patch), a learned class token prepended (init 0), a learned positional embedding added (init
N(0, 0.02²)); the classifier reads the class token.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..rules.shape import broadcast_to, concatenate, reshape, transpose
from . import init
from .conv import Conv2d
from .module import Module, primal


class PatchEmbedding(Conv2d):
    """Non-overlapping P×P patches, each projected to D features: x ``(N, C, H, W)`` -> tokens ``(N, (H/P)·(W/P), D)``.

    A Conv2d(C, D, kernel = stride = P) followed by ``(N, D, h, w) -> (N, h·w, D)`` (patches in
    row-major order); rows or columns beyond a multiple of P are ignored. Init as torchvision's ViT:
    weight ~ N(0, 1/fan_in) truncated at ±2, bias 0, fan_in = C·P². Backward: the token gradient is
    reshaped back to ``(N, D, h, w)`` and passed to the conv's rule.
    """

    def __init__(self, in_channels: int, patch: int, dim: int, rng=None):
        rng = init.generator(rng)
        super().__init__(in_channels, dim, patch, stride=patch, rng=rng)
        fan_in = in_channels * patch * patch
        self.set_parameters({"weight": init.trunc_normal(rng, (dim, in_channels, patch, patch), math.sqrt(1 / fan_in)),
                             "bias": np.zeros(dim)})

    @staticmethod
    def _tokens(y):
        n, d, h, w = np.shape(primal(y))
        return transpose(reshape(y, (n, d, h * w)), (0, 2, 1))

    def forward(self, x, params, ctx):
        return self._tokens(super().forward(x, params, ctx))

    def forward_cached(self, x, params, ctx):
        y, cache = super().forward_cached(x, params, ctx)
        return self._tokens(y), (cache, y.shape)

    def backward(self, cache, grad_y, params):
        conv_cache, shape = cache
        return super().backward(conv_cache, grad_y.transpose(0, 2, 1).reshape(shape), params)


class ClassToken(Module):
    """Prepend a learned token: ``(B, T, D) -> (B, T + 1, D)``, token 0 being the parameter ``token`` ``(1, 1, D)``
    (init 0). Backward: the gradient of tokens 1… goes to x, token 0's summed over the batch to ``token``."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self._params["token"] = np.zeros((1, 1, dim))

    def extra_repr(self):
        return f"{self.dim}"

    def forward(self, x, params, ctx):
        b = np.shape(primal(x))[0]
        return concatenate([broadcast_to(params["token"], (b, 1, self.dim)), x], axis=1)

    def forward_cached(self, x, params, ctx):
        return self.forward(x, params, ctx), None

    def backward(self, cache, grad_y, params):
        return grad_y[:, 1:], {"token": grad_y[:, :1].sum(axis=0, keepdims=True)}


class PositionalEmbedding(Module):
    """Add a learned embedding per token position: ``y = x + embedding``, embedding ``(1, T, D)`` ~ N(0, 0.02²).
    Backward: ``grad_x = grad_y``, ``grad_embedding = Σ_batch grad_y``."""

    def __init__(self, tokens: int, dim: int, rng=None):
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self._params["embedding"] = init.generator(rng).normal(0.0, 0.02, (1, tokens, dim))

    def extra_repr(self):
        return f"{self.tokens}, {self.dim}"

    def forward(self, x, params, ctx):
        return x + params["embedding"]

    def forward_cached(self, x, params, ctx):
        return self.forward(x, params, ctx), None

    def backward(self, cache, grad_y, params):
        return grad_y, {"embedding": grad_y.sum(axis=0, keepdims=True)}


class SelectToken(Module):
    """One token of every sequence: ``(B, T, D) -> (B, D)``, ``y = x[:, index]`` (the class token for index 0).
    Backward: ``grad_y`` placed at that position, zeros elsewhere (cache: x's shape)."""

    def __init__(self, index: int = 0):
        super().__init__()
        self.index = index

    def extra_repr(self):
        return f"index={self.index}"

    def forward(self, x, params, ctx):
        return x[:, self.index]

    def forward_cached(self, x, params, ctx):
        return x[:, self.index], x.shape

    def backward(self, cache, grad_y, params):
        grad_x = namespace(grad_y).zeros(cache, dtype=grad_y.dtype)
        grad_x[:, self.index] = grad_y
        return grad_x, {}
