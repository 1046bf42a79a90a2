"""Gradient sources for training, one interface, chosen by name (docs/training.md):

    source = make_gradient_source("activity", method="projection", k=16)
    loss, grads = source(model, params, x, y, ctx, rng)        # grads: {name: array} like params

- ``exact``: the true gradient of the mean cross-entropy, by chaining the blocks' local reverse rules
  (the "backprop" baseline of every comparison);
- ``weight``: weight perturbation — one global tangent over all P parameters, the k directional
  derivatives of the scalar batch loss from ONE k-column forward pass, aggregated into a P-vector;
- ``activity``: activity (node) perturbation, the paper's default for networks — one global tangent
  over the activities of all blocks (n = Σ_l |a_l| per sample, shared by the batch) is injected at
  every block output on top of the propagated tangent; one forward pass yields the per-sample jvps
  d (k, B) of the mean loss; they are aggregated per sample with one shared Gram matrix into
  activity-gradient estimates ĝ_l (B, *a_l), and each block turns its ĝ_l into parameter gradients
  with its local reverse rule (for Linear + ReLU: dW = Σ_b (ĝ_b ⊙ 1[z_b > 0]) x_bᵀ).

Unlike the paper's code, which simulates the jvps from a backward pass ("sim" mode), the jvps here
come from true forward mode; the block-local reverse rule is the same.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .approaches import METHOD_ALIASES, aggregation_method
from .backend import move, namespace
from .dual import Dual
from .errors import InvalidArgumentError
from .estimators import AGGREGATIONS, SAMPLERS, aggregate, forward_gradient, sample_tangents
from .estimators.tangents import expected_length
from .nn import Context
from .parallel import SINGLE_PROCESS
from .rules.nn import softmax_cross_entropy

#: Every name ``method`` takes: the aggregations and the paper's names for them (``approaches.METHOD_ALIASES``).
METHOD_NAMES = tuple(sorted(set(AGGREGATIONS) | set(METHOD_ALIASES)))


def _cross_entropy_and_grad(logits, y):
    """Mean cross-entropy and its gradient (softmax − onehot) / B with respect to the logits."""
    xp = namespace(logits)
    z = logits - logits.max(axis=1, keepdims=True)
    e = xp.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = xp.arange(len(y))
    loss = float(xp.mean(xp.log(s[:, 0]) - z[rows, y]))
    grad = e / s
    grad[rows, y] -= 1
    return loss, grad / len(y)


class Exact:
    """The true gradient: forward with caches, then the blocks' reverse rules from the loss back."""
    name = "exact"

    def __call__(self, model, params, x, y, ctx: Context, rng=None):
        logits, cache = model.forward_cached(x, params, ctx)
        loss, grad_logits = _cross_entropy_and_grad(logits, y)
        _, grads = model.backward(cache, grad_logits, params)
        return loss, grads


class _Perturbation:
    """``parallel``: who pushes which tangent columns (``dualgrad.parallel``; default all of them, here)."""

    def __init__(self, method: str = "projection", k: int = 16, sampler: str = "normal", normalize: bool = False,
                 scaling_correction: bool = False, parallel=SINGLE_PROCESS, **sampler_options):
        if method not in METHOD_NAMES:
            raise InvalidArgumentError(f"unknown method {method!r}; choose one of {METHOD_NAMES}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidArgumentError(f"k must be an integer >= 1 (the number of tangents), got {k!r}")
        if sampler not in SAMPLERS:
            raise InvalidArgumentError(f"unknown sampler {sampler!r}; choose one of {tuple(SAMPLERS)}")
        method = aggregation_method(method, k)           # the paper's names (dualgrad.approaches); fg: k = 1
        self.method, self.k, self.sampler, self.normalize = method, k, sampler, normalize
        self.scaling_correction, self.sampler_options = scaling_correction, sampler_options
        self.parallel = parallel


class WeightPerturbation(_Perturbation):
    """Tangents on all parameters at once; the scalar loss's k jvps from one pass (estimators.forward_gradient)."""
    name = "weight"

    def __call__(self, model, params, x, y, ctx: Context, rng):
        def loss(p):
            return softmax_cross_entropy(model.forward(x, p, ctx), y)
        value, grads = forward_gradient(loss, params, k=self.k, sampler=self.sampler, method=self.method, rng=rng,
                                        normalize=self.normalize, scaling_correction=self.scaling_correction,
                                        parallel=self.parallel, **self.sampler_options)
        return float(value), grads


class ActivityPerturbation(_Perturbation):
    """Tangents injected at every block output; per-sample jvps; block-local parameter rules."""
    name = "activity"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shapes: dict = {}

    def activity_shapes(self, model, blocks, params, x) -> list[tuple]:
        """Per-sample output shape of every block (from one primal pass per input shape, then cached)."""
        key = (id(model), x.shape[1:])
        if key not in self._shapes:
            ctx = Context(training=False)
            h = x[:1]
            shapes = []
            for block in blocks:
                h = block.forward(h, params, ctx)
                shapes.append(tuple(h.shape[1:]))
            self._shapes[key] = shapes
        return self._shapes[key]

    def __call__(self, model, params, x, y, ctx: Context, rng):
        blocks = model.blocks()
        shapes = self.activity_shapes(model, blocks, params, x)
        offsets = list(itertools.accumulate([math.prod(s) for s in shapes], initial=0))
        batch = len(x)
        xp = namespace(x)
        V = sample_tangents(self.k, offsets[-1], self.sampler, rng, self.normalize, dtype=x.dtype,
                            **self.sampler_options)                                       # (k, n)
        V = move(V, xp)                     # drawn on the host; on a GPU one copy of k·n numbers per step
        mine = V[self.parallel.share(self.k)]                       # (k_r, n): the columns this process pushes
        k = len(mine)
        inputs, h = [], x
        for block, lo, hi, shape in zip(blocks, offsets[:-1], offsets[1:], shapes):
            inputs.append(h.primal if isinstance(h, Dual) else h)
            h = block.forward(h, params, ctx)
            v = mine[:, lo:hi].reshape((k, 1) + shape).astype(h.dtype, copy=False)   # one slice, shared by the batch
            if isinstance(h, Dual) and h.tangent is not None:
                h = Dual(h.primal, h.tangent + v)                    # injected on top of the propagated tangent
            else:
                h = Dual(h.primal if isinstance(h, Dual) else h, xp.broadcast_to(v, (k,) + h.shape))
        losses = softmax_cross_entropy(h, y, reduction="none")       # (B,), tangent (k, B)
        d = self.parallel.gather(losses.tangent / batch, self.k)    # jvps of the mean loss, per sample: (k, B)
        length = expected_length(self.sampler, V.shape[1], self.normalize, **self.sampler_options)
        estimate = aggregate(V, d, self.method, scaling_correction=self.scaling_correction,
                             expected_tangent_length=length if self.scaling_correction else None)   # (n, B)
        grads = {}
        for block, x_in, lo, hi, shape in zip(blocks, inputs, offsets[:-1], offsets[1:], shapes):
            grad_out = estimate[lo:hi].T.reshape((batch,) + shape)   # ĝ_l per sample
            _, cache = block.forward_cached(x_in, params, ctx)       # same ctx: same dropout mask, BN stats once
            _, block_grads = block.backward(cache, grad_out, params)
            grads.update(block_grads)
        return float(xp.mean(losses.primal)), grads


SOURCES = {"exact": Exact, "bp": Exact, "weight": WeightPerturbation, "activity": ActivityPerturbation}


def make_gradient_source(name: str, **options):
    """``exact`` (alias ``bp``), ``weight`` or ``activity``; options: method, k, sampler, normalize, parallel, ..."""
    if name not in SOURCES:
        raise InvalidArgumentError(f"unknown gradient source {name!r}; choose one of {tuple(SOURCES)}")
    if SOURCES[name] is Exact:
        return Exact()
    return SOURCES[name](**options)


def num_perturbed(grad: str, model, input_shape) -> int | None:
    """n, the length of one tangent: the activities per sample (activity perturbation), the parameters
    (weight perturbation), or None for the exact gradient."""
    if SOURCES[grad] is Exact:
        return None
    return num_activities(model, input_shape) if grad == "activity" else model.num_parameters()


def num_activities(model, input_shape) -> int:
    """n of activity perturbation: the per-sample size of all block outputs (2W + 10 for the paper's FCNet)."""
    source = ActivityPerturbation()
    params = model.parameters()
    xp = namespace(*params.values())
    x = xp.zeros((1,) + tuple(input_shape), dtype=np.result_type(*params.values()))
    return sum(math.prod(s) for s in source.activity_shapes(model, model.blocks(), params, x))
