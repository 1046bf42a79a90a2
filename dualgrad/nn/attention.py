"""Multi-head self-attention and the pre-LN transformer block (torchvision's ViT encoder layer).

Tokens are ``(B, T, D)``: batch, tokens, features; H heads of width Dh = D/H. Only the attention
core has its own reverse rule; the projections, LayerNorms, MLP and residual connections are the
generic layers and containers, so their forward and backward come for free.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..rules.linalg import matmul
from ..rules.nn import softmax
from ..rules.shape import reshape, swapaxes, transpose
from . import init
from .layers import GELU, LayerNorm, Linear
from .module import Module, Residual, Sequential, primal


class ScaledDotProductAttention(Module):
    """The attention core on packed projections: qkv ``(B, T, 3·D)`` -> ``(B, T, D)``, no parameters.

    qkv is split as ``(B, T, 3, H, Dh)`` into q, k, v ``(B, H, T, Dh)``; per head
    ``A = softmax(q kᵀ / √Dh)`` over the keys (``(B, H, T, T)``) and ``o = A v``; the heads are
    concatenated back to ``(B, T, D)``.
    Backward (cache: q/√Dh, k, v, A): ``grad_v = Aᵀ G``, ``grad_A = G vᵀ``, the softmax transpose
    ``grad_S = A ⊙ (grad_A − Σ_keys A ⊙ grad_A)``, ``grad_q = grad_S k / √Dh``, ``grad_k = grad_Sᵀ q/√Dh``.
    """

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def extra_repr(self):
        return f"heads={self.heads}"

    def _split(self, qkv):
        """q/√Dh, k, v of shape (B, H, T, Dh) from qkv (B, T, 3·D); arrays or Duals."""
        b, t, three_d = np.shape(primal(qkv))
        if three_d % (3 * self.heads):
            raise ValueError(f"ScaledDotProductAttention: the last axis of qkv ({three_d}) must be 3·D with D "
                             f"divisible by heads={self.heads}; got qkv of shape {(b, t, three_d)}.")
        dh = three_d // (3 * self.heads)
        qkv = transpose(reshape(qkv, (b, t, 3, self.heads, dh)), (2, 0, 3, 1, 4))     # (3, B, H, T, Dh)
        return qkv[0] * (1 / math.sqrt(dh)), qkv[1], qkv[2]

    @staticmethod
    def _attend(q_scaled, k, v):
        """(A, A v) with A = softmax(q kᵀ/√Dh) over the last axis; arrays or Duals."""
        a = softmax(matmul(q_scaled, swapaxes(k, -1, -2)), axis=-1)
        return a, matmul(a, v)

    @staticmethod
    def _merge(o):
        """(B, H, T, Dh) -> (B, T, H·Dh)."""
        b, h, t, dh = np.shape(primal(o))
        return reshape(transpose(o, (0, 2, 1, 3)), (b, t, h * dh))

    def forward(self, x, params, ctx):
        return self._merge(self._attend(*self._split(x))[1])

    def forward_cached(self, x, params, ctx):
        q_scaled, k, v = self._split(x)
        a, o = self._attend(q_scaled, k, v)
        return self._merge(o), (q_scaled, k, v, a)

    def backward(self, cache, grad_y, params):
        q_scaled, k, v, a = cache
        b, h, t, dh = v.shape
        go = grad_y.reshape(b, t, h, dh).transpose(0, 2, 1, 3)                       # (B, H, T, Dh)
        grad_a = go @ v.swapaxes(-1, -2)
        grad_v = a.swapaxes(-1, -2) @ go
        grad_s = a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))             # through the softmax
        grad_q = (grad_s @ k) * (1 / math.sqrt(dh))
        grad_k = grad_s.swapaxes(-1, -2) @ q_scaled
        packed = namespace(v).stack([grad_q, grad_k, grad_v])                         # (3, B, H, T, Dh)
        return packed.transpose(1, 3, 0, 2, 4).reshape(b, t, 3 * h * dh), {}


class MultiHeadSelfAttention(Sequential):
    """Self-attention as PyTorch's ``nn.MultiheadAttention(dim, heads)`` with q = k = v = x: ``(B, T, D) -> (B, T, D)``.

    Children ``qkv`` (Linear D -> 3D, the packed in-projection), ``attend`` (ScaledDotProductAttention)
    and ``proj`` (Linear D -> D). Init as PyTorch: the in-projection weight xavier-uniform and bias 0,
    the out-projection weight U(±1/√D) and bias 0.
    """

    def __init__(self, dim: int, heads: int, rng=None):
        if dim % heads:
            raise ValueError(f"MultiHeadSelfAttention: dim={dim} must be divisible by heads={heads}.")
        rng = init.generator(rng)
        qkv, proj = Linear(dim, 3 * dim, rng=rng), Linear(dim, dim, rng=rng)
        qkv.set_parameters({"weight": init.xavier_uniform(rng, dim, 3 * dim, (dim, 3 * dim)),
                            "bias": np.zeros(3 * dim)})
        proj.set_parameters({"weight": proj.parameters()["weight"], "bias": np.zeros(dim)})
        super().__init__(qkv=qkv, attend=ScaledDotProductAttention(heads), proj=proj)


class TransformerBlock(Sequential):
    """The pre-LN encoder layer of ViT: ``h = x + attn(LN₁(x))``, then ``y = h + MLP(LN₂(h))``, ``(B, T, D)``.

    MLP = Linear(D, mlp_dim) → GELU (erf form) → Linear(mlp_dim, D), initialised as torchvision's
    ``MLPBlock`` (xavier-uniform weights, biases N(0, 10⁻¹²)); LayerNorm eps 1e-6 as in the paper's ViT.
    Children: ``attention = Residual(Sequential(ln, attn))`` and ``mlp = Residual(Sequential(ln, fc1,
    act, fc2))``, so parameter names read like ``attention.body.attn.qkv.weight``.
    """

    def __init__(self, dim: int, heads: int, mlp_dim: int, eps: float = 1e-6, rng=None):
        rng = init.generator(rng)
        attention = Sequential(ln=LayerNorm(dim, eps), attn=MultiHeadSelfAttention(dim, heads, rng=rng))
        fc1, fc2 = Linear(dim, mlp_dim, rng=rng), Linear(mlp_dim, dim, rng=rng)
        for fc, (fan_in, fan_out) in ((fc1, (dim, mlp_dim)), (fc2, (mlp_dim, dim))):
            fc.set_parameters({"weight": init.xavier_uniform(rng, fan_in, fan_out, (fan_in, fan_out)),
                               "bias": rng.normal(0.0, 1e-6, fan_out)})
        mlp = Sequential(ln=LayerNorm(dim, eps), fc1=fc1, act=GELU(), fc2=fc2)
        super().__init__(attention=Residual(attention), mlp=Residual(mlp))
