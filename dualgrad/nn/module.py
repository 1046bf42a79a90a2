"""Modules: named parameters, a forward that runs on arrays and on Duals, and a local reverse rule.

A module *holds* its parameters (``parameters()``, a flat dict with dotted names such as
``"0.weight"``) but every computation *takes* them as an argument, so the same layer serves three
gradient sources:

* ``forward(x, params, ctx)`` runs on plain arrays or on Duals — Dual parameters for weight
  perturbation, a Dual input (plus tangents injected at block outputs) for activity perturbation —
  using dualgrad's functions, so the fused k-column kernels do the work;
* ``forward_cached(x, params, ctx) -> (y, cache)`` and ``backward(cache, grad_y, params) -> (grad_x,
  grads)`` are plain NumPy: the local reverse rule ``grad_x = J_xᵀ grad_y``, ``grads[name] = J_nameᵀ
  grad_y``. Chained backwards through the blocks they give the exact gradient (the "backprop"
  baseline); applied to one block they turn an activity-gradient estimate into parameter gradients.

Containers pass each child the slice of the flat dict under the child's name (``"0.weight"`` reaches
child ``"0"`` as ``"weight"``), keep the children's caches and chain their backwards in reverse.

A ``Context`` carries what one training step shares across calls: the random Generator, the
training flag, and per-module memos (the dropout mask of the step, whether BatchNorm has updated
its running statistics in this step).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import get as get_backend
from ..backend import move
from ..dual import Dual

#: A NumPy or CuPy array.
Array = Any
#: A layer input or parameter: a plain array, or a Dual carrying k tangent columns.
Operand = Dual | Array
#: A flat dict of parameters (or gradients) with dotted names.
Params = dict[str, Any]


def primal(x: Operand) -> Array:
    """The value of ``x`` without its tangent (a plain array is its own value)."""
    return x.primal if isinstance(x, Dual) else x


def split(flat: Params) -> tuple[Params, dict[str, Params]]:
    """``flat`` as (own entries, {child name: entries under that child, the prefix removed}).

    ``{"scale": s, "0.weight": w, "0.bias": b}`` -> ``({"scale": s}, {"0": {"weight": w, "bias": b}})``.
    """
    own: Params = {}
    children: dict[str, Params] = {}
    for name, value in flat.items():
        head, dot, rest = name.partition(".")
        if dot:
            children.setdefault(head, {})[rest] = value
        else:
            own[name] = value
    return own, children


def prefixed(per_child: list[tuple[str, Params]]) -> Params:
    """One flat dict from (child name, child dict) pairs: ``"weight"`` of child ``"0"`` becomes ``"0.weight"``."""
    return {f"{child}.{name}": value for child, flat in per_child for name, value in flat.items()}


class Context:
    """Per-step state shared by every module call of one training step.

    ``rng``: the NumPy Generator that dropout draws its masks from (None: a training-mode dropout
    raises). ``training``: dropout on, BatchNorm on batch statistics (and updating its running
    averages); False: dropout off, BatchNorm on its running averages.

    Use **one Context per step**: a module that draws (dropout) or updates (BatchNorm) does so the
    first time it is called in a context and reuses the result for later calls with the same context,
    so a Dual pass and a recomputed primal pass of one step see the same mask and the running
    statistics move once. A new step needs a new Context.
    """

    def __init__(self, rng: np.random.Generator | None = None, training: bool = True):
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"Context: rng must be a numpy.random.Generator or None, got {type(rng).__name__}; "
                            "create one with np.random.default_rng(seed).")
        self.rng = rng
        self.training = bool(training)
        self._memo: dict[Module, Any] = {}

    def memo(self, module: Module, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``module`` asks in this context; the same value on every later call."""
        if module not in self._memo:
            self._memo[module] = make()
        return self._memo[module]

    def __repr__(self):
        return f"Context(training={self.training}, rng={'set' if self.rng is not None else None})"


class Module:
    """A layer or a container of layers; subclasses implement ``forward``, ``forward_cached`` and ``backward``.

    Own parameters live in ``self._params``, non-trainable state in ``self._buffers`` and children in
    ``self._children`` (insertion order); the flat names list own entries first, then each child's
    under its name, so the order is deterministic.
    """

    def __init__(self):
        self._params: Params = {}
        self._buffers: Params = {}
        self._children: dict[str, Module] = {}

    # ----- parameters and buffers ------------------------------------------------------------------
    def _collect(self, attr: str) -> Params:
        out = dict(getattr(self, attr))
        for child_name, child in self._children.items():
            out.update(prefixed([(child_name, child._collect(attr))]))
        return out

    def _assign(self, attr: str, flat: Params, what: str) -> None:
        current = self._collect(attr)
        missing, unexpected = sorted(set(current) - set(flat)), sorted(set(flat) - set(current))
        if missing or unexpected:
            raise KeyError(f"{type(self).__name__}.set_{what}: names do not match; missing {missing}, unexpected "
                           f"{unexpected}. Pass a dict with exactly the names of {what}().")
        wrong = [f"{n}: {tuple(np.shape(flat[n]))} (expected {current[n].shape})" for n in current
                 if tuple(np.shape(flat[n])) != current[n].shape]
        if wrong:
            raise ValueError(f"{type(self).__name__}.set_{what}: wrong shapes: {'; '.join(wrong)}.")
        self._store(attr, flat)

    def _store(self, attr: str, flat: Params) -> None:
        own, per_child = split(flat)
        getattr(self, attr).update(own)
        for child_name, child in self._children.items():
            child._store(attr, per_child.get(child_name, {}))

    def parameters(self) -> Params:
        """The trainable arrays as a flat dict with dotted names (``"0.weight"``), in a deterministic order."""
        return self._collect("_params")

    def set_parameters(self, flat: Params) -> None:
        """Replace the parameters by the arrays of ``flat`` (kept by reference, not copied); the inverse of
        ``parameters()``. Raises KeyError when the names differ and ValueError when a shape differs;
        dtype and array module may change (``astype``, CuPy arrays)."""
        self._assign("_params", flat, "parameters")

    def buffers(self) -> Params:
        """The non-trainable state (BatchNorm's running statistics) as a flat dict with dotted names."""
        return self._collect("_buffers")

    def set_buffers(self, flat: Params) -> None:
        """Replace the buffers by the arrays of ``flat``, checked as in ``set_parameters``."""
        self._assign("_buffers", flat, "buffers")

    def named_children(self) -> list[tuple[str, Module]]:
        """The direct children as (name, module) pairs, in order."""
        return list(self._children.items())

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return sum(int(np.size(p)) for p in self.parameters().values())

    def astype(self, dtype) -> Module:
        """Cast every parameter and buffer to ``dtype`` (e.g. np.float32); returns the module."""
        self.set_parameters({n: p.astype(dtype) for n, p in self.parameters().items()})
        self.set_buffers({n: b.astype(dtype) for n, b in self.buffers().items()})
        return self

    def to(self, backend: str) -> Module:
        """Move every parameter and buffer to the array module ``backend`` ("numpy" or "cupy"; a GPU run
        needs CuPy and a CUDA device, else ``BackendUnavailableError``); returns the module. Arrays already
        there are kept as they are (no copy)."""
        xp = get_backend(backend)
        self.set_parameters({n: move(p, xp) for n, p in self.parameters().items()})
        self.set_buffers({n: move(b, xp) for n, b in self.buffers().items()})
        return self

    # ----- computation -----------------------------------------------------------------------------
    def __call__(self, x: Operand, params: Params | None = None, ctx: Context | None = None) -> Operand:
        """``forward(x, params, ctx)`` with defaults: the module's own parameters, and an **evaluation**
        context ``Context(training=False)`` (dropout off, BatchNorm on running statistics, nothing
        updated). Training code passes its step's Context explicitly."""
        return self.forward(x, self.parameters() if params is None else params,
                            Context(training=False) if ctx is None else ctx)

    def forward(self, x: Operand, params: Params, ctx: Context) -> Operand:
        """The output for input ``x`` and the flat ``params`` (names relative to this module); arrays or Duals."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def forward_cached(self, x: Array, params: Params, ctx: Context) -> tuple[Array, Any]:
        """Plain arrays only: the output and what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__}.forward_cached")

    def backward(self, cache: Any, grad_y: Array, params: Params) -> tuple[Array, Params]:
        """The local reverse rule: ``(J_xᵀ grad_y, {name: J_nameᵀ grad_y})`` at the point ``cache`` was made."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def blocks(self) -> list[Module]:
        """The groups whose outputs are the perturbed activities of activity perturbation, in order; chained,
        they compute the module. Each block's ``parameters()`` carry the same names as in this module, so
        its slice of the model's flat dict is ``{n: params[n] for n in block.parameters()}`` (a container
        block also accepts the whole dict and reads only its own names), and its ``backward`` returns
        gradients under those names. Default: the module itself."""
        return [self]

    def __repr__(self):
        if not self._children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in self._children.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The constructor arguments shown by ``repr`` for a leaf module."""
        return ""


class Sequential(Module):
    """Children applied in order: ``y = f_n(… f_2(f_1(x)))``.

    ``Sequential(a, b, c)`` names the children "0", "1", "2"; ``Sequential(stem=a, head=b)`` uses the
    keywords (positional children first). Indexing by position or name gives a child; a slice gives a
    Sequential *view* over the same child objects with the same names, so its parameters carry the
    names they have in the whole (this is how ``blocks()`` groups consecutive children).
    """

    def __init__(self, *modules: Module, **named: Module):
        super().__init__()
        for name, module in [(str(i), m) for i, m in enumerate(modules)] + list(named.items()):
            if "." in name or name in self._children:
                raise ValueError(f"Sequential: child name {name!r} is repeated or contains a '.'")
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: child {name!r} is a {type(module).__name__}, not a Module")
            self._children[name] = module
        self._block_sizes: list[int] | None = None

    def __len__(self):
        return len(self._children)

    def __getitem__(self, index: int | str | slice) -> Module:
        if isinstance(index, str):
            return self._children[index]
        items = list(self._children.items())
        if isinstance(index, slice):
            return Sequential(**dict(items[index]))
        return items[index][1]

    def forward(self, x, params, ctx):
        per_child = split(params)[1]
        for name, child in self._children.items():
            x = child.forward(x, per_child.get(name, {}), ctx)
        return x

    def forward_cached(self, x, params, ctx):
        per_child = split(params)[1]
        caches = []
        for name, child in self._children.items():
            x, cache = child.forward_cached(x, per_child.get(name, {}), ctx)
            caches.append(cache)
        return x, caches

    def backward(self, cache, grad_y, params):
        per_child = split(params)[1]
        grads = []
        for (name, child), child_cache in reversed(list(zip(self._children.items(), cache))):
            grad_y, child_grads = child.backward(child_cache, grad_y, per_child.get(name, {}))
            grads.append((name, child_grads))
        return grad_y, prefixed(grads[::-1])

    def group_blocks(self, sizes: list[int]) -> None:
        """Declare the blocks: ``sizes[b]`` consecutive children form block b (the sizes sum to ``len(self)``)."""
        if sum(sizes) != len(self) or min(sizes) < 1:
            raise ValueError(f"Sequential.group_blocks: sizes {sizes} must be positive and sum to the "
                             f"{len(self)} children")
        self._block_sizes = list(sizes)

    def blocks(self) -> list[Module]:
        """Views over consecutive children as declared by ``group_blocks`` (default: the whole sequence)."""
        if self._block_sizes is None:
            return [self]
        bounds = np.cumsum([0] + self._block_sizes)
        return [self[int(a):int(b)] for a, b in zip(bounds[:-1], bounds[1:])]


class Residual(Module):
    """``y = body(x) + shortcut(x)``, the identity shortcut when ``shortcut`` is None.

    Children "body" and (when given) "shortcut"; both must map x to the same shape. Backward: the
    output gradient flows into both branches and their input gradients add.
    """

    def __init__(self, body: Module, shortcut: Module | None = None):
        super().__init__()
        self._children["body"] = body
        if shortcut is not None:
            self._children["shortcut"] = shortcut

    def _branches(self):
        return self._children["body"], self._children.get("shortcut")

    def forward(self, x, params, ctx):
        per_child = split(params)[1]
        body, shortcut = self._branches()
        y = body.forward(x, per_child.get("body", {}), ctx)
        return y + (x if shortcut is None else shortcut.forward(x, per_child.get("shortcut", {}), ctx))

    def forward_cached(self, x, params, ctx):
        per_child = split(params)[1]
        body, shortcut = self._branches()
        y, body_cache = body.forward_cached(x, per_child.get("body", {}), ctx)
        if shortcut is None:
            return y + x, (body_cache, None)
        s, shortcut_cache = shortcut.forward_cached(x, per_child.get("shortcut", {}), ctx)
        return y + s, (body_cache, shortcut_cache)

    def backward(self, cache, grad_y, params):
        per_child = split(params)[1]
        body, shortcut = self._branches()
        body_cache, shortcut_cache = cache
        grad_x, body_grads = body.backward(body_cache, grad_y, per_child.get("body", {}))
        if shortcut is None:
            return grad_x + grad_y, prefixed([("body", body_grads)])
        grad_s, shortcut_grads = shortcut.backward(shortcut_cache, grad_y, per_child.get("shortcut", {}))
        return grad_x + grad_s, prefixed([("body", body_grads), ("shortcut", shortcut_grads)])
