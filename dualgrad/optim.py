"""Optimizers and learning-rate schedules, with state that checkpoints.

Parameters and gradients are flat dicts ``{name: array}`` (``Module.parameters()``); ``step`` updates
the parameter arrays in place. The update rules follow PyTorch's definitions exactly, so learning rates
and hyper-parameters transfer:

- SGD:  g ← ∇ + λθ;  b ← μ b + (1 − τ) g  (b = g at the first step);  g ← g + μ b (Nesterov) or b;  θ ← θ − η g
- Adam: m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η m̂ / (√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ);
  ``weight_decay`` adds λθ to g (L2); AdamW instead decays θ ← θ(1 − ηλ) before the step (decoupled).
"""
from __future__ import annotations

import math

import numpy as np

from .backend import namespace


# ----- learning-rate schedules: step -> multiplier of the base learning rate -------------------------------
class Constant:
    def __call__(self, step: int) -> float:
        return 1.0


class StepDecay:
    """Multiply by ``gamma`` every ``step_size`` steps."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size, self.gamma = step_size, gamma

    def __call__(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)


class Cosine:
    """Cosine annealing from 1 to ``min_factor`` over ``total_steps`` (then constant)."""

    def __init__(self, total_steps: int, min_factor: float = 0.0):
        self.total_steps, self.min_factor = total_steps, min_factor

    def __call__(self, step: int) -> float:
        t = min(step, self.total_steps) / self.total_steps
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))


SCHEDULES = ("constant", "step", "cosine")


def schedule(name: str, total_steps: int | None = None, **options):
    """A schedule by name (``SCHEDULES``): "constant"; "step" (step_size, default a third of ``total_steps``;
    gamma, default 0.1); "cosine" (total_steps, min_factor)."""
    if name == "constant":
        return Constant()
    if name == "step":
        if "step_size" not in options:
            if total_steps is None:
                raise ValueError("the step schedule needs step_size or total_steps")
            options["step_size"] = max(1, total_steps // 3)
        return StepDecay(**options)
    if name == "cosine":
        if total_steps is None:
            raise ValueError("the cosine schedule needs total_steps")
        return Cosine(total_steps, **options)
    raise ValueError(f"unknown schedule {name!r}; choose one of {SCHEDULES}")


# ----- optimizers ----------------------------------------------------------------------------------------
class Optimizer:
    """Base: a base learning rate, a schedule, a step counter and per-parameter state buffers."""

    def __init__(self, lr: float, lr_schedule=None):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.lr_schedule = lr_schedule or Constant()
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    @property
    def current_lr(self) -> float:
        return self.lr * self.lr_schedule(self.steps)

    def step(self, params: dict, grads: dict) -> None:
        missing = set(params) ^ set(grads)
        if missing:
            raise KeyError(f"parameters and gradients differ in names: {sorted(missing)}")
        lr = self.current_lr
        for name, p in params.items():
            self.update(name, p, grads[name], lr)
        self.steps += 1

    def update(self, name, p, g, lr):
        raise NotImplementedError

    def _buffer(self, name, key, like):
        slot = self.state.setdefault(name, {})
        if key not in slot:
            slot[key] = namespace(like).zeros_like(like)
        return slot[key]

    def state_dict(self) -> dict:
        """Everything needed to continue bit for bit: the step count and every buffer (copied)."""
        return {"steps": self.steps,
                "state": {name: {k: v.copy() for k, v in slot.items()} for name, slot in self.state.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.state = {name: {k: namespace(v).array(v) for k, v in slot.items()}          # copies, on v's device
                      for name, slot in state["state"].items()}


class SGD(Optimizer):
    def __init__(self, lr: float, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, lr_schedule=None):
        super().__init__(lr, lr_schedule)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening, self.nesterov, self.weight_decay = momentum, dampening, nesterov, weight_decay

    def update(self, name, p, g, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            first = name not in self.state
            buf = self._buffer(name, "momentum", p)
            if first:
                buf[...] = g
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= lr * g


class Adam(Optimizer):
    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled: bool = False, lr_schedule=None):
        super().__init__(lr, lr_schedule)
        self.betas, self.eps, self.weight_decay, self.decoupled = tuple(betas), eps, weight_decay, decoupled

    def update(self, name, p, g, lr):
        b1, b2 = self.betas
        if self.weight_decay and self.decoupled:
            p *= 1 - lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * p
        m, v = self._buffer(name, "m", p), self._buffer(name, "v", p)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        t = self.steps + 1
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p -= lr * m_hat / (namespace(v_hat).sqrt(v_hat) + self.eps)


class AdamW(Adam):
    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 lr_schedule=None):
        super().__init__(lr, betas, eps, weight_decay, decoupled=True, lr_schedule=lr_schedule)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
