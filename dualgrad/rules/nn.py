"""Neural-network functions: activations, softmax, losses, normalisation, dropout.

Conventions follow PyTorch where it has the function: relu'(0) = 0, leaky_relu'(0) and elu'(0) take
the negative branch's slope, softplus is linear above its threshold, gelu has the erf and tanh forms,
the norms divide by the biased standard deviation √(var + eps). Classes are on the last axis for
softmax_cross_entropy (``(..., C)``) and channels on axis 1 for batch_norm (NCHW).

Shared work: softmax reuses its output for its tangent y ⊙ (t − Σ y t); softmax-cross-entropy computes
the softmax once and turns all k loss tangents of a reduced loss into one GEMV; the norms reuse x̂ and
1/σ. Every function takes Duals or plain arrays (plain in, plain out).
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ..backend import multiply_blocks, namespace, special, to_numpy
from ..dual import Dual, _primal
from ..registry import bind, defprimitive, implements
from ._util import add_terms, fit, lift, normalize_axes, tangent_axes

__all__ = ["relu", "leaky_relu", "sigmoid", "softplus", "gelu", "silu", "elu", "softmax", "log_softmax",
           "softmax_cross_entropy", "mse", "layer_norm", "batch_norm", "dropout"]

#: A dualgrad operand: a Dual or a plain NumPy/CuPy array.
Operand = Dual | np.ndarray

INV_SQRT_2 = 1 / math.sqrt(2)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_TANH_C = 0.044715          # the cubic coefficient of gelu's tanh approximation
REDUCTIONS = ("mean", "sum", "none")


def _chain(t, slope):
    """t · f'(x) for an elementwise f, with the slope computed only when the tangent is not a symbolic zero
    (a large block on worker threads: ``backend.multiply_blocks``)."""
    return None if t is None else multiply_blocks(t, slope())


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: unknown reduction {reduction!r}; choose 'mean', 'sum' or 'none'.")


# ----- activations: y = f(x), tangent f'(x)·t -------------------------------------------------------
def _relu_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return namespace(x).maximum(x, 0), _chain(t, lambda: (x > 0).astype(x.dtype))   # float mask: no cast per k


def _leaky_relu_rule(primals, tangents, negative_slope):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    y = xp.where(x > 0, x, x * negative_slope)
    return y, _chain(t, lambda: xp.where(x > 0, 1, negative_slope).astype(x.dtype, copy=False))


def _sigmoid_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    sp = special(namespace(x))
    y = sp.expit(x)                                     # stable: never exp of a large positive number
    return y, _chain(t, lambda: y * sp.expit(-x))       # σ' = σ(x) σ(−x): no cancellation in 1 − σ(x)


def _softplus_rule(primals, tangents, beta, threshold):
    """y = log(1 + exp(βx))/β = (max(βx, 0) + log1p(exp(−|βx|)))/β, or x where βx > threshold."""
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    bx = x * beta
    linear = bx > threshold
    y = xp.where(linear, x, (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta)
    return y, _chain(t, lambda: xp.where(linear, 1, special(xp).expit(bx)))


def _gelu_rule(primals, tangents, approximate):
    """erf form: y = x Φ(x), y' = Φ(x) + x φ(x).  tanh form: y = x (1 + tanh u)/2, u = √(2/π)(x + c x³)."""
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    if approximate == "tanh":
        th = xp.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x))
        y = 0.5 * x * (1 + th)
        return y, _chain(t, lambda: 0.5 * (1 + th)
                         + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_C * x * x))
    cdf = 0.5 * special(xp).erfc(x * -INV_SQRT_2)       # Φ(x) = (1 + erf(x/√2))/2, accurate in both tails
    return x * cdf, _chain(t, lambda: cdf + x * xp.exp(-0.5 * x * x) * INV_SQRT_2PI)


def _silu_rule(primals, tangents):
    """y = x σ(x), y' = σ(x) (1 + x (1 − σ(x)))."""
    (x,), (t,) = primals, tangents
    s = special(namespace(x)).expit(x)
    return x * s, _chain(t, lambda: s * (1 + x * (1 - s)))


def _elu_rule(primals, tangents, alpha):
    """y = x for x > 0, α (eˣ − 1) otherwise; y' = 1 or α eˣ (exp taken of min(x, 0): no overflow)."""
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    neg = xp.minimum(x, 0)
    y = xp.where(x > 0, x, alpha * xp.expm1(neg))
    return y, _chain(t, lambda: xp.where(x > 0, 1, alpha * xp.exp(neg)))


def _activation(name, rule, note, numpy=()):
    return defprimitive(name, rule, family="nn", kind="elementwise", numpy=numpy, note=note)


_relu = _activation("relu", _relu_rule, "relu'(0) = 0 (PyTorch)")
_leaky_relu = _activation("leaky_relu", _leaky_relu_rule, "slope negative_slope at 0 (PyTorch)")
_sigmoid = _activation("sigmoid", _sigmoid_rule, "scipy.special.expit: stable for large |x|; slope σ(x)σ(−x)",
                       numpy=("scipy.special.expit",))
_softplus = _activation("softplus", _softplus_rule,
                        "PyTorch semantics: x (slope 1) where beta·x > threshold; stable log1p form elsewhere")
_gelu = _activation("gelu", _gelu_rule,
                    "approximate='none': x·Φ(x), Φ via erfc (accurate tails); 'tanh': PyTorch's tanh form")
_silu = _activation("silu", _silu_rule, "x·sigmoid(x)")
_elu = _activation("elu", _elu_rule, "slope alpha at 0 (PyTorch)")


def relu(x: Operand) -> Operand:
    """max(x, 0) elementwise (any shape); the derivative is 1[x > 0], so 0 at x = 0 as in PyTorch."""
    return bind(_relu, x)


def leaky_relu(x: Operand, negative_slope: float = 0.01) -> Operand:
    """x where x > 0, ``negative_slope``·x elsewhere (any shape); the slope at 0 is ``negative_slope``."""
    return bind(_leaky_relu, x, negative_slope=negative_slope)


@implements("scipy.special.expit")
def sigmoid(x: Operand) -> Operand:
    """σ(x) = 1 / (1 + e⁻ˣ) elementwise, computed stably for large |x|; σ' = σ(x) σ(−x) = σ (1 − σ).

    ``scipy.special.expit`` on a Dual reaches this rule too.
    """
    return bind(_sigmoid, x)


def softplus(x: Operand, beta: float = 1.0, threshold: float = 20.0) -> Operand:
    """log(1 + exp(βx)) / β elementwise, and x itself where βx > ``threshold`` (PyTorch semantics).

    The derivative is σ(βx) below the threshold and 1 above it.
    """
    return bind(_softplus, x, beta=beta, threshold=threshold)


def gelu(x: Operand, approximate: str = "none") -> Operand:
    """Gaussian error linear unit elementwise, as PyTorch's ``gelu``.

    ``approximate="none"``: x Φ(x) = x (1 + erf(x/√2)) / 2, evaluated as x erfc(−x/√2) / 2 (no cancellation
    for negative x).
    ``approximate="tanh"``: x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: unknown approximate={approximate!r}; choose 'none' (erf) or 'tanh'.")
    return bind(_gelu, x, approximate=approximate)


def silu(x: Operand) -> Operand:
    """x σ(x) elementwise (also called swish); derivative σ(x) (1 + x (1 − σ(x)))."""
    return bind(_silu, x)


def elu(x: Operand, alpha: float = 1.0) -> Operand:
    """x where x > 0, α (eˣ − 1) elsewhere (any shape); the slope at 0 is α, as in PyTorch."""
    return bind(_elu, x, alpha=alpha)


# ----- softmax, log_softmax -------------------------------------------------------------------------
def _shifted_exp(x, axes):
    """(z, e, s) with z = x − max(x), e = exp(z), s = Σ e over ``axes`` (kept as size-1 axes).

    softmax = e / s and log_softmax = z − log s, from one exp and no overflow (a row of −inf keeps its
    max out of the shift, as in logsumexp).
    """
    xp = namespace(x)
    m = x.max(axis=axes, keepdims=True)
    z = x - xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(z)
    return z, e, e.sum(axis=axes, keepdims=True)


def _softmax_rule(primals, tangents, axis):
    """d softmax = y ⊙ (t − Σ y t), the sum over ``axis``: the output y is reused."""
    (x,), (t,) = primals, tangents
    axes = normalize_axes(axis, np.ndim(x), "softmax")
    _, e, s = _shifted_exp(x, axes)
    y = e / s
    return y, None if t is None else y * (t - (y * t).sum(axis=tangent_axes(axes), keepdims=True))


def _log_softmax_rule(primals, tangents, axis):
    """d log_softmax = t − Σ softmax(x) t over ``axis``."""
    (x,), (t,) = primals, tangents
    axes = normalize_axes(axis, np.ndim(x), "log_softmax")
    z, e, s = _shifted_exp(x, axes)
    out = z - namespace(x).log(s)
    return out, None if t is None else t - ((e / s) * t).sum(axis=tangent_axes(axes), keepdims=True)


_softmax = defprimitive("softmax", _softmax_rule, family="nn",
                        note="stable (max subtracted); tangent y ⊙ (t − Σ y t) reuses the output")
_log_softmax_p = defprimitive("log_softmax", _log_softmax_rule, family="nn",
                              note="stable; tangent t − Σ softmax·t")


def softmax(x: Operand, axis: int = -1) -> Operand:
    """exp(x) / Σ exp(x) over ``axis`` (same shape as x), computed with the max subtracted.

    Tangent: y ⊙ (t − Σ_axis y ⊙ t) with y the softmax itself.
    """
    return bind(_softmax, x, axis=axis)


def log_softmax(x: Operand, axis: int = -1) -> Operand:
    """x − logsumexp(x) over ``axis`` (same shape as x), stable for large |x|.

    Tangent: t − Σ_axis softmax(x) ⊙ t.
    """
    return bind(_log_softmax_p, x, axis=axis)


# ----- losses -----------------------------------------------------------------------------------------
def _cross_entropy_rule(primals, tangents, reduction):
    """loss = logsumexp(z) − z[label] per row; d loss = Σ_c (softmax − onehot)_c dz_c.

    With n rows of C classes, g = softmax − onehot is (n, C); a reduced loss's k tangents are one GEMV
    (k, n·C) @ (n·C,), divided by n for the mean.
    """
    (logits, labels), (t, _) = primals, tangents
    xp = namespace(logits)
    shifted, e, s = (a.reshape(-1, a.shape[-1]) for a in _shifted_exp(logits, (logits.ndim - 1,)))  # (n, C)
    rows = xp.arange(e.shape[0])
    labels = xp.asarray(labels).ravel()
    loss = xp.log(s[:, 0]) - shifted[rows, labels]                               # log Σ e^(z−m) − (z−m)[label]
    out = {"none": lambda: loss.reshape(logits.shape[:-1]), "sum": loss.sum, "mean": loss.mean}[reduction]()
    if t is None:
        return out, None
    g = e / s                                                                    # softmax, from the same exp
    g[rows, labels] -= 1
    k = t.shape[0]
    if reduction == "none":
        return out, (t.reshape((k,) + g.shape) * g).sum(axis=-1).reshape((k,) + out.shape)
    dout = t.reshape(k, -1) @ g.ravel()                                          # (k,)
    return out, dout * (1.0 / g.shape[0]) if reduction == "mean" else dout


def _mse_rule(primals, tangents, reduction):
    """loss = (p − q)²; d loss = 2 (p − q)(dp − dq), reduced as one GEMV for "mean" and "sum"."""
    (pred, target), (tp, tq) = primals, tangents
    diff = pred - target
    sq = diff * diff
    out = {"none": lambda: sq, "sum": sq.sum, "mean": sq.mean}[reduction]()
    d = add_terms(tp, None if tq is None else -tq)
    if d is None:
        return out, None
    if reduction == "none":
        return out, d * (2 * diff)
    dout = d.reshape(d.shape[0], -1) @ diff.ravel()                              # (k,)
    return out, dout * (2.0 / diff.size if reduction == "mean" else 2.0)


_cross_entropy = defprimitive(
    "softmax_cross_entropy", _cross_entropy_rule, family="nn", kind="fused",
    note="softmax computed once for loss and tangent; mean/sum tangents as one GEMV; labels carry no tangent")
_mse = defprimitive("mse", _mse_rule, family="nn",
                    note="pred and target must have equal shapes (no broadcasting); mean over all elements")


def softmax_cross_entropy(logits: Operand, labels, reduction: str = "mean") -> Operand:
    """Cross-entropy of softmax(logits) against integer class labels, classes on the last axis.

    logits: (B, C) or (..., C); labels: integer array of shape logits.shape[:-1], values in [0, C).
    Per example: loss = logsumexp(z) − z[label] = −log softmax(z)[label]. ``reduction``: "mean"
    (over all examples, a scalar), "sum" (a scalar) or "none" (shape logits.shape[:-1]).
    Tangent: Σ_c (softmax(z) − onehot(label))_c · dz_c per example; the labels carry no tangent.
    """
    _check_reduction("softmax_cross_entropy", reduction)
    if isinstance(labels, Dual):
        raise TypeError("softmax_cross_entropy: labels must be a plain integer array, not a Dual (class indices "
                        "carry no tangent); pass labels.primal.astype(int) if they came from a Dual.")
    shape = tuple(np.shape(_primal(logits)))
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    if len(shape) < 2:
        raise ValueError(f"softmax_cross_entropy: logits must have shape (B, C) or (..., C) with the classes last; "
                         f"got shape {shape}. For a single example pass logits[None] and labels[None].")
    if tuple(labels.shape) != shape[:-1]:
        raise ValueError(f"softmax_cross_entropy: labels of shape {tuple(labels.shape)} do not match logits of "
                         f"shape {shape}; expected labels of shape {shape[:-1]} (one class index per row). For "
                         "one-hot or probability targets pass targets.argmax(-1).")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integer class indices; got dtype {labels.dtype}. "
                        "Cast them with labels.astype(np.int64) (or take argmax(-1) of one-hot targets).")
    if labels.size:
        values = to_numpy(labels)                  # on a GPU one device→host copy of the B labels, no kernel
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= shape[-1]:
            raise ValueError(f"softmax_cross_entropy: labels must lie in [0, C) = [0, {shape[-1]}) for logits of "
                             f"shape {shape}; got values from {low} to {high}. Check that the classes are on the "
                             "last axis and numbered from 0.")
    return bind(_cross_entropy, logits, labels, reduction=reduction)


def mse(pred: Operand, target: Operand, reduction: str = "mean") -> Operand:
    """Mean squared error: (pred − target)² reduced by "mean" (a scalar), "sum" or "none" (same shape).

    pred and target: the same shape, either or both Duals. Tangent 2 (pred − target)(dpred − dtarget).
    """
    _check_reduction("mse", reduction)
    a, b = tuple(np.shape(_primal(pred))), tuple(np.shape(_primal(target)))
    if a != b:
        raise ValueError(f"mse: pred of shape {a} and target of shape {b} differ. mse does not broadcast (a (B, 1) "
                         "against (B,) would silently give a (B, B) loss); reshape one to the other's shape, "
                         "e.g. target.reshape(pred.shape).")
    return bind(_mse, pred, target, reduction=reduction)


# ----- normalisation ----------------------------------------------------------------------------------
def _norm_rule(primals, tangents, axes, param_shape, eps):
    """x̂ = (x − μ)/σ with μ, σ² = mean, biased variance over ``axes`` and σ = √(σ² + eps); y = x̂·w + b,
    w and b reshaped to ``param_shape`` to broadcast against x.

    dy = dx̂·w + x̂·dw + db with the closed form dx̂ = (dx − mean(dx) − x̂·mean(x̂·dx))/σ (means over ``axes``),
    evaluated as dy = dx·s + x̂·β + γ with s = w/σ and, per tangent column, coefficients of the reduced shape
    β = dw − s·mean(x̂·dx) and γ = db − s·mean(dx). On NumPy arrays ``_norm_columns`` builds dy a column at a
    time; CuPy arrays (a few kernels on whole blocks rather than seven per column) and Duals of an outer
    derivative take the same formula on whole blocks.
    """
    (x, w, b), (tx, tw, tb) = primals, tangents
    xp = namespace(x)
    centered = x - x.mean(axis=axes, keepdims=True)
    inv_sigma = 1 / xp.sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
    xhat = centered * inv_sigma
    y = xhat if w is None else xhat * w.reshape(param_shape)
    if b is not None:
        y = y + b.reshape(param_shape)
    s = inv_sigma if w is None else inv_sigma * w.reshape(param_shape)
    dw = None if tw is None else lift(tw.reshape(tw.shape[:1] + param_shape), x.ndim)
    db = None if tb is None else lift(tb.reshape(tb.shape[:1] + param_shape), x.ndim)
    if tx is None:
        t = add_terms(None if dw is None else xhat * dw, db)
        return y, None if t is None else fit(t, x.shape)
    if all(isinstance(v, np.ndarray) for v in (tx, xhat, s, dw, db) if v is not None):
        return y, _norm_columns(tx, xhat, s, dw, db, axes)
    ta = tangent_axes(axes)
    beta = add_terms(dw, -s * (tx * xhat).mean(axis=ta, keepdims=True))
    gamma = add_terms(db, -s * tx.mean(axis=ta, keepdims=True))
    return y, tx * s + xhat * beta + gamma


def _norm_columns(tx, xhat, s, dw, db, axes):
    """dy_i = dx_i·s + x̂·β_i + γ_i of ``_norm_rule`` for NumPy arrays, one column at a time, into a block laid
    out as tx (k, *x.shape): the two means read the column twice (the product x̂·dx_i goes to a buffer of x's
    size), then one product and two sums write dy_i; no temporary of the block's size. dw, db: None or lifted
    (k, 1, …) blocks of the parameters' tangents."""
    xp = namespace(tx)
    dtype = xp.result_type(*(v for v in (tx, xhat, s, dw, db) if v is not None))
    t = xp.empty_like(tx, dtype=dtype)
    buf = xp.empty_like(xhat, dtype=dtype)
    for i in range(tx.shape[0]):
        d = tx[i]
        xp.multiply(d, xhat, out=buf)
        beta = -s * buf.mean(axis=axes, keepdims=True)
        gamma = -s * d.mean(axis=axes, keepdims=True)
        beta = beta if dw is None else beta + dw[i]
        gamma = gamma if db is None else gamma + db[i]
        xp.multiply(d, s, out=t[i])
        xp.multiply(xhat, beta, out=buf)
        t[i] += buf
        t[i] += gamma
    return t


_layer_norm = defprimitive("layer_norm", _norm_rule, family="nn",
                           note="over the trailing normalized_shape; biased variance; dx̂ in closed form")
_batch_norm = defprimitive("batch_norm", _norm_rule, family="nn",
                           note="training-mode batch statistics over all axes but 1 (biased variance); "
                                "no running averages")


def _check_param(op, name, p, expected):
    if p is not None and tuple(np.shape(_primal(p))) != expected:
        raise ValueError(f"{op}: {name} has shape {tuple(np.shape(_primal(p)))}; expected {expected}.")


def layer_norm(x: Operand, normalized_shape, weight: Operand | None = None, bias: Operand | None = None,
               eps: float = 1e-5) -> Operand:
    """Layer normalisation over the trailing ``normalized_shape`` axes of x, as PyTorch's ``layer_norm``.

    x: (..., *normalized_shape); weight, bias: normalized_shape (optional, any may be Duals).
    y = (x − μ) / √(σ² + eps) · weight + bias with μ, σ² the mean and biased variance over those axes.
    Tangent of the normalised x̂: (dx − mean(dx) − x̂·mean(x̂·dx)) / √(σ² + eps).
    """
    ns = (int(normalized_shape),) if isinstance(normalized_shape, Integral) else tuple(normalized_shape)
    shape = tuple(np.shape(_primal(x)))
    if not ns or len(ns) > len(shape) or shape[len(shape) - len(ns):] != ns:
        raise ValueError(f"layer_norm: normalized_shape {ns} must equal the trailing dimensions of x (shape "
                         f"{shape}); e.g. normalized_shape=x.shape[-1:] normalises over the last axis.")
    _check_param("layer_norm", "weight", weight, ns)
    _check_param("layer_norm", "bias", bias, ns)
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    return bind(_layer_norm, x, weight, bias, axes=axes, param_shape=ns, eps=eps)


def batch_norm(x: Operand, weight: Operand | None = None, bias: Operand | None = None,
               eps: float = 1e-5) -> Operand:
    """Batch normalisation with training-mode statistics, as PyTorch's ``batch_norm(training=True)``.

    x: (N, C) or (N, C, *spatial), channels on axis 1; weight, bias: (C,) (optional, any may be Duals).
    y = (x − μ_c) / √(σ²_c + eps) · weight_c + bias_c with μ_c, σ²_c the mean and biased variance over
    every axis but 1. Running averages for evaluation are the caller's to keep (the batch's own are
    ``x.mean(axis)`` and ``x.var(axis)``). Tangent as for layer_norm, with the means over those axes.
    """
    shape = tuple(np.shape(_primal(x)))
    if len(shape) < 2:
        raise ValueError(f"batch_norm: x must have shape (N, C) or (N, C, *spatial) with channels on axis 1; "
                         f"got shape {shape}. For a single feature vector use layer_norm or x[None].")
    _check_param("batch_norm", "weight", weight, shape[1:2])
    _check_param("batch_norm", "bias", bias, shape[1:2])
    axes = (0,) + tuple(range(2, len(shape)))
    param_shape = shape[1:2] + (1,) * (len(shape) - 2)                # (C, 1, ..., 1)
    return bind(_batch_norm, x, weight, bias, axes=axes, param_shape=param_shape, eps=eps)


# ----- dropout ----------------------------------------------------------------------------------------
def _dropout_rule(primals, tangents, mask):
    """Multiplication by a fixed mask: linear, the same mask for the primal and every tangent column."""
    (x,), (t,) = primals, tangents
    return x * mask, None if t is None else t * mask


_dropout = defprimitive("dropout", _dropout_rule, family="nn", kind="linear",
                        note="mask from the caller's numpy Generator, shared by primal and tangent")


def dropout(x: Operand, p: float, rng: np.random.Generator, training: bool = True) -> Operand:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1 − p).

    The mask is ``rng.random(x.shape) >= p``, drawn on the host from the NumPy Generator ``rng`` (moved
    to the GPU for CuPy data) and applied to the primal and all k tangent columns alike. The same rng
    state gives the same mask: reseed (``np.random.default_rng(seed)``) to repeat a draw. With
    ``training=False`` or p == 0, x is returned unchanged (no draw); with p == 1 the result is zero.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"dropout: rng must be a numpy.random.Generator, got {type(rng).__name__}; create one "
                        "with np.random.default_rng(seed).")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p = {p} is not a probability; choose 0 <= p <= 1.")
    if not training or p == 0:
        return x
    primal = _primal(x)
    xp = namespace(primal)
    if p == 1:
        mask = xp.zeros(primal.shape, dtype=primal.dtype)
    else:
        mask = xp.asarray(rng.random(primal.shape) >= p, dtype=primal.dtype) * (1.0 / (1.0 - p))
    return bind(_dropout, x, mask=mask)
