"""Dense layers, activations, reshaping, dropout and normalisation.

Shapes: B is the batch (any leading axes for Linear, LayerNorm and the activations), C the channels
on axis 1 for BatchNorm2d. Each layer's ``forward`` calls dualgrad's functions (so it runs on arrays
and on Duals); ``forward_cached``/``backward`` are the plain-array reverse rules, and each docstring
says what the cache keeps.
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ..backend import namespace
from ..dual import Dual
from ..rules.elementwise import tanh
from ..rules.linalg import matmul
from ..rules.nn import batch_norm, gelu, layer_norm, leaky_relu, relu, sigmoid
from ..rules.shape import reshape
from . import init
from .module import Context, Module, Operand, primal


# ----- dense -----------------------------------------------------------------------------------------
class Linear(Module):
    """``y = x W + b`` for x ``(..., in)``, y ``(..., out)``.

    The weight is stored **(in, out)** — the transpose of PyTorch's ``(out, in)`` — so the forward is
    the GEMM ``x @ W`` with no transpose, and its tangent folds k into the GEMM rows (``dx @ W`` as one
    ``(k·B, in) @ (in, out)``). Port a PyTorch weight with ``W = weight.T``.
    Init (PyTorch's default): W and b ~ U(±1/√in) from ``rng`` (a Generator, a seed or None).
    Backward: ``grad_x = grad_y Wᵀ``, ``grad_W = xᵀ grad_y``, ``grad_b = Σ grad_y`` (cache: x).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None):
        super().__init__()
        rng = init.generator(rng)
        self.in_features, self.out_features, self.bias = in_features, out_features, bias
        bound = 1 / math.sqrt(in_features)
        self._params["weight"] = init.uniform(rng, (in_features, out_features), bound)
        if bias:
            self._params["bias"] = init.uniform(rng, (out_features,), bound)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias}"

    def forward(self, x, params, ctx):
        y = matmul(x, params["weight"])
        return y + params["bias"] if self.bias else y

    def forward_cached(self, x, params, ctx):
        return self.forward(x, params, ctx), x

    def backward(self, cache, grad_y, params):
        x, w = cache, params["weight"]
        g2 = grad_y.reshape(-1, w.shape[1])                      # (B, out) with all leading axes folded
        grads = {"weight": x.reshape(-1, w.shape[0]).T @ g2}
        if self.bias:
            grads["bias"] = g2.sum(axis=0)
        return grad_y @ w.T, grads


# ----- activations -----------------------------------------------------------------------------------
class _Elementwise(Module):
    """y = f(x) elementwise; the derivative comes from dualgrad's own rule for f.

    ``forward_cached`` evaluates f on a Dual with the all-ones tangent, which yields y and f'(x) in one
    call of the rule (so the reverse rule uses exactly the forward rule's derivative, kinks included);
    the cache is f'(x) and ``backward`` is ``grad_y ⊙ f'(x)``.
    """

    def fn(self, x: Operand) -> Operand:
        raise NotImplementedError

    def forward(self, x, params, ctx):
        return self.fn(x)

    def forward_cached(self, x, params, ctx):
        ones = namespace(x).broadcast_to(namespace(x).ones((), dtype=x.dtype), (1,) + x.shape)
        out = self.fn(Dual(x, ones))
        return out.primal, out.tangent[0]

    def backward(self, cache, grad_y, params):
        return grad_y * cache, {}


class ReLU(_Elementwise):
    """max(x, 0); the slope at 0 is 0 (PyTorch)."""

    def fn(self, x):
        return relu(x)


class LeakyReLU(_Elementwise):
    """x for x > 0, ``negative_slope``·x otherwise (slope ``negative_slope`` at 0, as PyTorch)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"

    def fn(self, x):
        return leaky_relu(x, self.negative_slope)


class Tanh(_Elementwise):
    """tanh(x)."""

    def fn(self, x):
        return tanh(x)


class Sigmoid(_Elementwise):
    """σ(x) = 1 / (1 + e⁻ˣ), computed stably."""

    def fn(self, x):
        return sigmoid(x)


class GELU(_Elementwise):
    """x Φ(x) (``approximate="none"``, PyTorch's default) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: unknown approximate={approximate!r}; choose 'none' (erf) or 'tanh'.")
        self.approximate = approximate

    def extra_repr(self):
        return f"approximate={self.approximate!r}"

    def fn(self, x):
        return gelu(x, self.approximate)


# ----- reshaping -------------------------------------------------------------------------------------
class Flatten(Module):
    """``(B, d1, d2, …) -> (B, d1·d2·…)``; backward reshapes the gradient back (cache: the input shape)."""

    def forward(self, x, params, ctx):
        return reshape(x, (np.shape(primal(x))[0], -1))

    def forward_cached(self, x, params, ctx):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, cache, grad_y, params):
        return grad_y.reshape(cache), {}


# ----- dropout ---------------------------------------------------------------------------------------
class Dropout(Module):
    """Inverted dropout: ``y = x ⊙ m`` with ``m = 1[u ≥ p] / (1 − p)``, u ~ U[0, 1) of x's shape.

    The mask is drawn from ``ctx.rng`` (``rng.random(x.shape) >= p``, the draw of ``dg.dropout``) the
    first time this module is called in a training Context and reused for every later call with that
    Context, Dual or plain. Identity when ``ctx.training`` is False or p = 0. Backward: ``grad_y ⊙ m``
    (cache: m, or None for the identity).
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p = {p} is not a probability; choose 0 <= p <= 1.")
        self.p = p

    def extra_repr(self):
        return f"p={self.p}"

    def mask(self, x: Operand, ctx: Context):
        """The step's mask for an input like ``x`` (None when dropout is off)."""
        if not ctx.training or self.p == 0:
            return None
        value = primal(x)
        xp = namespace(value)

        def draw():
            if ctx.rng is None:
                raise ValueError("Dropout: a training Context needs a Generator to draw the mask from; create it "
                                 "as Context(rng=np.random.default_rng(seed)), or Context(training=False).")
            if self.p == 1:
                return xp.zeros(value.shape, dtype=value.dtype)
            keep = xp.asarray(ctx.rng.random(value.shape) >= self.p)
            return keep.astype(value.dtype) * value.dtype.type(1 / (1 - self.p))

        m = ctx.memo(self, draw)
        if m.shape != value.shape:
            raise ValueError(f"Dropout: called with input shape {value.shape} after drawing a mask of shape "
                             f"{m.shape} in the same Context; use one Context per step, and one Dropout module "
                             "per place in the network.")
        return m

    def forward(self, x, params, ctx):
        m = self.mask(x, ctx)
        return x if m is None else x * m

    def forward_cached(self, x, params, ctx):
        m = self.mask(x, ctx)
        return (x if m is None else x * m), m

    def backward(self, cache, grad_y, params):
        return (grad_y if cache is None else grad_y * cache), {}


# ----- normalisation ---------------------------------------------------------------------------------
def _standardize(x, axes: tuple, eps: float):
    """(x̂, 1/σ) with x̂ = (x − μ)/σ, σ = √(var + eps), μ and the biased var over ``axes`` (kept as size 1)."""
    centered = x - x.mean(axis=axes, keepdims=True)
    inv_sigma = 1 / namespace(x).sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
    return centered * inv_sigma, inv_sigma


def _standardize_backward(grad_xhat, xhat, inv_sigma, axes: tuple):
    """The transpose of x ↦ x̂ (statistics over ``axes``): (g − mean(g) − x̂·mean(x̂ ⊙ g)) / σ."""
    return (grad_xhat - grad_xhat.mean(axis=axes, keepdims=True)
            - xhat * (xhat * grad_xhat).mean(axis=axes, keepdims=True)) * inv_sigma


class LayerNorm(Module):
    """Normalisation over the trailing ``normalized_shape`` axes: ``y = (x − μ)/√(σ² + eps) · weight + bias``.

    x ``(..., *normalized_shape)``; weight (init 1) and bias (init 0) of ``normalized_shape``; biased
    variance, as PyTorch. Backward (cache: x̂, 1/σ): ``grad_x`` is the transpose of the standardisation
    applied to ``grad_y ⊙ weight``; ``grad_weight = Σ grad_y ⊙ x̂``, ``grad_bias = Σ grad_y`` over the
    leading axes.
    """

    def __init__(self, normalized_shape: int | tuple, eps: float = 1e-5):
        super().__init__()
        shape = (int(normalized_shape),) if isinstance(normalized_shape, Integral) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self._params["weight"] = np.ones(shape)
        self._params["bias"] = np.zeros(shape)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

    def _axes(self, ndim: int) -> tuple:
        return tuple(range(ndim - len(self.normalized_shape), ndim))

    def _check(self, shape: tuple) -> None:
        n = len(self.normalized_shape)
        if len(shape) < n or tuple(shape[len(shape) - n:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm{self.normalized_shape}: the input of shape {tuple(shape)} does not end "
                             f"with the normalized shape {self.normalized_shape}.")

    def forward(self, x, params, ctx):
        return layer_norm(x, self.normalized_shape, params["weight"], params["bias"], self.eps)

    def forward_cached(self, x, params, ctx):
        self._check(x.shape)
        xhat, inv_sigma = _standardize(x, self._axes(x.ndim), self.eps)
        return xhat * params["weight"] + params["bias"], (xhat, inv_sigma)

    def backward(self, cache, grad_y, params):
        xhat, inv_sigma = cache
        lead = tuple(range(xhat.ndim - len(self.normalized_shape)))
        grad_x = _standardize_backward(grad_y * params["weight"], xhat, inv_sigma, self._axes(xhat.ndim))
        return grad_x, {"weight": (grad_y * xhat).sum(axis=lead), "bias": grad_y.sum(axis=lead)}


class BatchNorm2d(Module):
    """Batch normalisation over every axis but the channels (axis 1) of x ``(N, C, H, W)`` (or ``(N, C)``).

    Training context: ``y = (x − μ_B)/√(σ²_B + eps) · weight + bias`` with the batch's mean and biased
    variance (``dg.batch_norm``). Evaluation context: the running averages replace them, a per-channel
    affine map. Parameters weight (1) and bias (0), buffers ``running_mean`` (0) and ``running_var`` (1).

    **Running statistics** follow PyTorch — ``r ← (1 − momentum)·r + momentum·s`` with the batch mean and
    the *unbiased* batch variance — and move **once per training Context**: the first training-mode call
    of this module in a Context (``forward`` on arrays or Duals, or ``forward_cached``) updates them from
    the primal input; later calls in the same Context (the recomputed primal pass of activity
    perturbation, an exact-gradient diagnostic) leave them alone. Evaluation contexts never update.

    Backward (cache: x̂, 1/σ, the mode): training mode as LayerNorm's with per-channel statistics;
    evaluation mode ``grad_x = grad_y ⊙ weight/σ_running``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self._params["weight"] = np.ones(num_features)
        self._params["bias"] = np.zeros(num_features)
        self._buffers["running_mean"] = np.zeros(num_features)
        self._buffers["running_var"] = np.ones(num_features)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    @staticmethod
    def _axes(ndim: int) -> tuple:
        return (0,) + tuple(range(2, ndim))

    def _check(self, shape: tuple) -> None:
        if len(shape) < 2 or shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): the input must be (N, {self.num_features}, ...) "
                             f"with the channels on axis 1; got shape {tuple(shape)}.")

    def _per_channel(self, v, ndim: int):
        return reshape(v, (self.num_features,) + (1,) * (ndim - 2))

    def _track(self, x, ctx: Context) -> None:
        """Update the running statistics from the primal input, once per Context."""
        def update():
            axes = self._axes(x.ndim)
            count = x.size // x.shape[1]
            if count < 2:
                raise ValueError(f"BatchNorm2d: training needs more than one value per channel; got input shape "
                                 f"{x.shape}. Use a larger batch or an evaluation Context.")
            m = self.momentum
            self._buffers["running_mean"] = (1 - m) * self._buffers["running_mean"] + m * x.mean(axis=axes)
            self._buffers["running_var"] = (1 - m) * self._buffers["running_var"] + m * x.var(axis=axes, ddof=1)
            return True
        ctx.memo(self, update)

    def _running_inv_sigma(self):
        running_var = self._buffers["running_var"]
        return 1 / namespace(running_var).sqrt(running_var + self.eps)

    def forward(self, x, params, ctx):
        ndim = len(np.shape(primal(x)))
        self._check(np.shape(primal(x)))
        if ctx.training:
            self._track(primal(x), ctx)
            return batch_norm(x, params["weight"], params["bias"], self.eps)
        scale = params["weight"] * self._running_inv_sigma()                  # y = x·scale + shift per channel
        shift = params["bias"] - scale * self._buffers["running_mean"]
        return x * self._per_channel(scale, ndim) + self._per_channel(shift, ndim)

    def forward_cached(self, x, params, ctx):
        self._check(x.shape)
        w, b = (self._per_channel(params[n], x.ndim) for n in ("weight", "bias"))
        if ctx.training:
            self._track(x, ctx)
            xhat, inv_sigma = _standardize(x, self._axes(x.ndim), self.eps)
        else:
            inv_sigma = self._per_channel(self._running_inv_sigma(), x.ndim)
            xhat = (x - self._per_channel(self._buffers["running_mean"], x.ndim)) * inv_sigma
        return xhat * w + b, (xhat, inv_sigma, ctx.training)

    def backward(self, cache, grad_y, params):
        xhat, inv_sigma, training = cache
        axes = self._axes(xhat.ndim)
        grad_xhat = grad_y * self._per_channel(params["weight"], xhat.ndim)
        grads = {"weight": (grad_y * xhat).sum(axis=axes), "bias": grad_y.sum(axis=axes)}
        if training:
            return _standardize_backward(grad_xhat, xhat, inv_sigma, axes), grads
        return grad_xhat * inv_sigma, grads
