"""Shape and indexing rules. All are linear: the tangent goes through the same operation with the
tangent axis k as an extra leading batch axis (primal axis a is tangent axis a + 1)."""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from ..backend import is_array, namespace
from ..dual import Dual
from ..registry import bind, defprimitive, implements
from ._util import innermost, lift, normalize_axes, normalize_axis, reject


def linear(name, primal_op, tangent_op, *, numpy=(), note="", view=None):
    """Register a linear primitive: ``out = primal_op(x, **p)``, ``dout = tangent_op(t, x, out, **p)``.

    Linear ops hold for complex operands as they are. ``view(**p)``: how a result that NumPy returns as a
    view of x writes back into it (see ``registry.Primitive.view``).
    """
    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        out = primal_op(x, **params)
        return out, None if t is None else tangent_op(t, x, out, **params)
    return defprimitive(name, rule, family="shape", kind="linear", numpy=numpy, note=note, complex=True, view=view)


def _whole(restore):
    """A view writer: ``base[...] = restore(view, base)`` (reshape and transpose views)."""
    def writer(base, view):
        base[...] = restore(view, base)
    return writer


def _read_only(**params):
    return "readonly"


# ----- reshaping ----------------------------------------------------------------------------------
_reshape = linear("reshape", lambda x, shape: namespace(x).reshape(x, shape),
                  lambda t, x, out, shape: t.reshape(t.shape[:1] + out.shape),
                  numpy=("np.reshape", "Dual.reshape", "np.ravel", "Dual.ravel", "np.atleast_1d", "np.atleast_2d",
                         "np.atleast_3d", "np.expand_dims", "np.squeeze"),
                  view=lambda shape: _whole(lambda v, base: np.reshape(v, np.shape(base))))


@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise ValueError(f"reshape on a Dual supports order='C' only (got {order!r})")
    shape = newshape if shape is None else shape
    return bind(_reshape, a, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, (-1,), order=order)


def _transpose_axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim - 1, -1, -1))
    return tuple(normalize_axis(a, ndim, "transpose") for a in axes)


_transpose = linear("transpose", lambda x, axes: x.transpose(axes),
                    lambda t, x, out, axes: t.transpose((0,) + tuple(a + 1 for a in axes)),
                    numpy=("np.transpose", "Dual.T", "Dual.transpose", "np.moveaxis", "np.swapaxes",
                           "np.permute_dims", "np.matrix_transpose", "np.rollaxis"),
                    view=lambda axes: _whole(lambda v, base: np.transpose(v, tuple(np.argsort(axes)))))


@implements(np.transpose, np.permute_dims)
def transpose(a, axes=None):
    return bind(_transpose, a, axes=_transpose_axes(axes, np.ndim(a)))


@implements(np.matrix_transpose)
def matrix_transpose(x):
    return swapaxes(x, -1, -2)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = np.ndim(a)
    src = [normalize_axis(s, ndim, "moveaxis") for s in np.atleast_1d(source).tolist()]
    dst = [normalize_axis(d, ndim, "moveaxis") for d in np.atleast_1d(destination).tolist()]
    order = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return bind(_transpose, a, axes=tuple(order))


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    ndim = np.ndim(a)
    order = list(range(ndim))
    i, j = normalize_axis(axis1, ndim, "swapaxes"), normalize_axis(axis2, ndim, "swapaxes")
    order[i], order[j] = order[j], order[i]
    return bind(_transpose, a, axes=tuple(order))


@implements(np.expand_dims)
def expand_dims(a, axis):
    shape = list(np.shape(a))
    for ax in normalize_axes(axis, len(shape) + len(np.atleast_1d(axis)), "expand_dims"):
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


@implements(np.squeeze)
def squeeze(a, axis=None):
    """Remove size-1 axes of the primal (never the tangent axis, even when k = 1)."""
    shape = np.shape(a)
    axes = [n for n, s in enumerate(shape) if s == 1] if axis is None else normalize_axes(axis, len(shape), "squeeze")
    if any(shape[ax] != 1 for ax in axes):
        raise ValueError(f"squeeze: cannot remove axis {axis} of size != 1 from shape {shape}")
    return reshape(a, tuple(s for n, s in enumerate(shape) if n not in axes))


_broadcast_to = linear("broadcast_to", lambda x, shape: namespace(x).broadcast_to(x, shape),
                       lambda t, x, out, shape: namespace(t).broadcast_to(lift(t, len(shape)), t.shape[:1] + shape),
                       numpy=("np.broadcast_to", "np.broadcast_arrays"), note="a read-only view, as in NumPy",
                       view=_read_only)


@implements(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    return bind(_broadcast_to, array, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


@implements(np.atleast_1d)
def atleast_1d(*arys):
    out = [a if np.ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return out[0] if len(out) == 1 else out


@implements(np.atleast_2d)
def atleast_2d(*arys):
    out = [a if np.ndim(a) >= 2 else reshape(a, (1,) * (2 - np.ndim(a)) + np.shape(a)) for a in arys]
    return out[0] if len(out) == 1 else out


@implements(np.atleast_3d)
def atleast_3d(*arys):
    """0-d -> (1, 1, 1), (N,) -> (1, N, 1), (M, N) -> (M, N, 1), as in NumPy."""
    def lift3(a):
        shape = np.shape(a)
        return a if len(shape) >= 3 else reshape(a, ((1, 1, 1), (1,) + shape + (1,), shape + (1,))[len(shape)])
    out = [lift3(a) for a in arys]
    return out[0] if len(out) == 1 else out


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(a if np.shape(a) == shape else broadcast_to(a, shape) for a in args)


@implements(np.meshgrid, via=("reshape", "broadcast_to"))
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    shapes = [[1] * ndim for _ in xi]
    for i, s in enumerate(shapes):
        s[i] = -1
    if indexing == "xy" and ndim > 1:           # the first two axes swap roles
        shapes[0][:2], shapes[1][:2] = [1, -1], [-1, 1]
    out = [reshape(x, tuple(s)) for x, s in zip(xi, shapes)]
    if not sparse:
        out = broadcast_arrays(*out)
    return tuple(x.copy() for x in out) if copy else tuple(out)


# ----- indexing -----------------------------------------------------------------------------------
def _is_array_index(ix) -> bool:
    return isinstance(ix, list) or (is_array(ix) and not isinstance(ix, bool))


def _is_bool_index(ix) -> bool:
    return _is_array_index(ix) and np.asarray(ix).dtype == bool if isinstance(ix, list) else (
        _is_array_index(ix) and ix.dtype == bool)


def tangent_index(index, ndim: int) -> tuple[tuple, int]:
    """``(tindex, kpos)``: ``t[tindex]`` is the tangent block of ``x[index]`` with its k axis at ``kpos``.

    Normally ``tindex = (:, *index)`` and k stays first. When advanced indices (arrays, and integers beside
    them) are separated by a slice, NumPy moves their broadcast axes to the front — ahead of k — so k
    lands after them: at the number of broadcast axes. Reads move it back to 0, writes move the value's
    k axis there.
    """
    index = index if isinstance(index, tuple) else (index,)
    if any(hasattr(ix, "tangent") for ix in index):
        raise TypeError("getitem: an index cannot be a Dual; index with integer or boolean arrays")
    if not any(_is_array_index(ix) for ix in index):
        return (slice(None),) + index, 0
    if any(ix is Ellipsis for ix in index):                       # spell the Ellipsis out as slices
        used = sum(np.ndim(ix) if _is_bool_index(ix) else 1 for ix in index if ix is not None and ix is not Ellipsis)
        pos = next(n for n, ix in enumerate(index) if ix is Ellipsis)
        index = index[:pos] + (slice(None),) * (ndim - used) + index[pos + 1:]
    advanced = [n for n, ix in enumerate(index) if _is_array_index(ix) or isinstance(ix, numbers.Integral)]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return (slice(None),) + index, 0
    shapes = [(int(np.count_nonzero(np.asarray(ix) if isinstance(ix, list) else ix)),) if _is_bool_index(ix)
              else np.shape(ix) for n, ix in enumerate(index) if n in advanced]
    return (slice(None),) + index, len(np.broadcast_shapes(*shapes))


def _tangent_getitem(t, x, index):
    """``t[:, index]``, with k moved back to the front where NumPy moved it (see ``tangent_index``)."""
    tindex, kpos = tangent_index(index, x.ndim)
    out = t[tindex]
    return out if kpos == 0 else np.moveaxis(out, kpos, 0)


def _getitem_view(index):
    """Basic indexing (ints, slices, None, Ellipsis) gives a view that writes back into its region."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(_is_array_index(ix) or isinstance(ix, bool) for ix in parts):
        return None                                                  # advanced indexing: a copy
    return lambda base, view: base.__setitem__(index, view)


_getitem = linear("getitem", lambda x, index: x[index], lambda t, x, out, index: _tangent_getitem(t, x, index),
                  numpy=("Dual[...]", "np.unstack"), note="basic slicing, integer and boolean arrays",
                  view=_getitem_view)


def getitem(x, index):
    """``x[index]`` for a Dual ``x`` (slices, None, Ellipsis, integer and boolean arrays)."""
    return bind(_getitem, x, index=index)


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    reject("take", out=out)
    if mode != "raise":
        raise ValueError("take on a Dual supports mode='raise' only")
    return bind(_take, a, indices=indices, axis=axis)


def _take_tangent(t, x, out, indices, axis):
    xp = namespace(t)
    if axis is None:
        return xp.take(t.reshape(t.shape[0], -1), xp.asarray(indices), axis=1)
    return xp.take(t, xp.asarray(indices), axis=normalize_axis(axis, x.ndim, "take") + 1)


_take = linear("take", lambda x, indices, axis: namespace(x).take(x, namespace(x).asarray(indices), axis=axis),
               _take_tangent,
               numpy=("np.take", "Dual.take"))


# ----- joining and splitting ----------------------------------------------------------------------
def _zeros_for(tangents, primals, k_like):
    """Tangent blocks with explicit zeros for the operands that carry none."""
    k, xp = k_like.shape[0], namespace(k_like)
    return [t if t is not None else xp.zeros((k,) + np.shape(p), dtype=k_like.dtype) for p, t in zip(primals, tangents)]


def _concatenate_rule(primals, tangents, axis, dtype, casting):
    xp = namespace(*primals)
    out = xp.concatenate(primals, axis=axis, dtype=dtype, casting=casting)
    present = [t for t in tangents if t is not None]
    if not present:
        return out, None
    ts = [tt.astype(out.dtype, copy=False) for tt in _zeros_for(tangents, primals, present[0])]
    if axis is None:
        return out, xp.concatenate([tt.reshape(tt.shape[0], -1) for tt in ts], axis=1)
    return out, xp.concatenate(ts, axis=normalize_axis(axis, out.ndim, "concatenate") + 1)


def _stack_rule(primals, tangents, axis, dtype, casting):
    xp = namespace(*primals)
    out = xp.stack(primals, axis=axis, dtype=dtype, casting=casting)
    present = [t for t in tangents if t is not None]
    if not present:
        return out, None
    ts = [tt.astype(out.dtype, copy=False) for tt in _zeros_for(tangents, primals, present[0])]
    return out, xp.stack(ts, axis=normalize_axis(axis, out.ndim, "stack") + 1)


_concatenate = defprimitive("concatenate", _concatenate_rule, family="shape", kind="linear", complex=True,
                            numpy=("np.concatenate", "np.concat", "np.hstack", "np.vstack", "np.row_stack",
                                   "np.column_stack", "np.dstack", "np.append", "np.block"),
                            note="dtype= must be floating or complex; casting= as in NumPy")
_stack = defprimitive("stack", _stack_rule, family="shape", kind="linear", complex=True,
                      numpy=("np.stack", "dg.array"),
                      note="dtype= must be floating or complex; casting= as in NumPy")


def _joined_dtype(op, arrays, dtype):
    """Refuse a dtype= that would cast Dual values to integers (their tangents would be lost)."""
    if dtype is not None and np.dtype(dtype).kind not in "fc" and any(hasattr(a, "tangent") for a in arrays):
        raise TypeError(f"{op}(..., dtype={np.dtype(dtype)}) would cast Duals to integers and drop their tangents; "
                        "use a floating dtype (or cast .primal).")
    return dtype


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    reject("concatenate", out=out)
    arrays = list(arrays)
    return bind(_concatenate, *arrays, axis=axis, dtype=_joined_dtype("concatenate", arrays, dtype), casting=casting)


@implements(np.stack)
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    reject("stack", out=out)
    arrays = list(arrays)
    return bind(_stack, *arrays, axis=axis, dtype=_joined_dtype("stack", arrays, dtype), casting=casting)


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = atleast_1d(*tup)
    arrays = arrays if isinstance(arrays, list) else [arrays]
    return concatenate(arrays, axis=0 if np.ndim(arrays[0]) == 1 else 1, dtype=dtype, casting=casting)


@implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    """np.vstack (and np.row_stack, which calls it with casting='same_kind')."""
    arrays = atleast_2d(*tup)
    return concatenate(arrays if isinstance(arrays, list) else [arrays], axis=0, dtype=dtype, casting=casting)


@implements(np.dstack)
def dstack(tup):
    arrays = atleast_3d(*tup)
    return concatenate(arrays if isinstance(arrays, list) else [arrays], axis=2)


@implements(np.column_stack)
def column_stack(tup):
    """1-D operands become columns (n, 1); 2-D ones join as they are."""
    return concatenate([reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], axis=1)


@implements(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


@implements(np.block)
def block(arrays):
    """np.block: the innermost lists join along the last axis, the lists holding them along the one before, ..."""
    depth = _block_depth(arrays, ())
    ndim = builtins.max([depth] + [np.ndim(a) for a in _block_leaves(arrays)])

    def join(part, level):
        if level == depth:
            return reshape(part, (1,) * (ndim - np.ndim(part)) + np.shape(part))
        return concatenate([join(p, level + 1) for p in part], axis=level - depth)
    return join(arrays, 0)


def _block_depth(arrays, index):
    """The list depth of np.block's argument, checked to be the same for every leaf."""
    where = "arrays" + "".join(f"[{i}]" for i in index)
    if isinstance(arrays, tuple):
        raise TypeError(f"{where} is a tuple. Only lists can be used to arrange blocks, and np.block does not "
                        "allow implicit conversion from tuple to ndarray.")
    if not isinstance(arrays, list):
        return 0
    if not arrays:
        raise ValueError(f"{where} is an empty list: lists cannot be empty")
    depths = {_block_depth(a, index + (i,)) for i, a in enumerate(arrays)}
    if len(depths) != 1:
        raise ValueError(f"list depths are mismatched within {where}")
    return depths.pop() + 1


def _block_leaves(arrays):
    if isinstance(arrays, list):
        for a in arrays:
            yield from _block_leaves(a)
    else:
        yield arrays


def array(obj, dtype=None, *, copy: bool = True):
    """A Dual from nested sequences that hold Duals, arrays and numbers, built as ``np.array`` would build it.

    NumPy never hands such a list to dualgrad: ``np.array([d, e])`` builds an object array of 0-d Duals,
    computed on element by element until it meets a Dual (``dual.from_objects``). This stacks the elements
    into one Dual at once: ``dg.array([d, e])`` is ``np.stack([d, e])``. Without a Dual inside
    the result is ``np.array(obj, dtype)``. ``dtype`` must be floating or complex when a Dual is inside.
    """
    if hasattr(obj, "tangent"):
        out = obj.copy() if copy else obj
    elif isinstance(obj, (list, tuple)) and _holds_dual(obj):
        out = stack([array(o, copy=False) for o in obj])
    else:
        xp = namespace(*_arrays_in(obj))       # a list of CuPy arrays stays on the GPU
        return xp.array(obj, dtype=dtype) if copy else xp.asarray(obj, dtype=dtype)
    if dtype is None or np.dtype(dtype) == out.dtype:
        return out
    _joined_dtype("array", [out], dtype)
    return out.astype(dtype)


def asarray(obj, dtype=None):
    """``dg.array`` without a copy: a Dual comes back as it is, a sequence holding Duals is stacked."""
    return array(obj, dtype, copy=False)


def _arrays_in(obj) -> list:
    """The arrays in a nested list or tuple (or obj itself)."""
    if isinstance(obj, (list, tuple)):
        return [a for o in obj for a in _arrays_in(o)]
    return [obj] if is_array(obj) else []


def _holds_dual(obj) -> bool:
    return any(hasattr(o, "tangent") or (isinstance(o, (list, tuple)) and _holds_dual(o)) for o in obj)


def _split_rule(primals, tangents, indices_or_sections, axis):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    outs = tuple(xp.array_split(x, indices_or_sections, axis=axis))
    if t is None:
        return outs, None
    return outs, tuple(xp.array_split(t, indices_or_sections, axis=normalize_axis(axis, x.ndim, "split") + 1))


_split = defprimitive("split", _split_rule, family="shape", kind="linear", complex=True,
                      numpy=("np.split", "np.array_split", "np.hsplit", "np.vsplit", "np.dsplit"))


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    return list(bind(_split, ary, indices_or_sections=indices_or_sections, axis=axis))


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, numbers.Integral) and np.shape(ary)[axis] % indices_or_sections:
        raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    if np.ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if np.ndim(ary) > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    if np.ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    if np.ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def unstack(x, /, *, axis=0):
    """The slices of x along ``axis``, as a tuple (views, as in NumPy)."""
    axis = normalize_axis(axis, np.ndim(x), "unstack")
    return tuple(getitem(x, (slice(None),) * axis + (i,)) for i in range(np.shape(x)[axis]))


if hasattr(np, "unstack"):             # NumPy >= 2.1
    implements(np.unstack)(unstack)


# ----- padding, flipping, repeating ---------------------------------------------------------------
_LINEAR_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_rule(primals, tangents, pad_width, mode, constant_values):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    kwargs = {"constant_values": constant_values} if mode == "constant" else {}
    out = xp.pad(x, pad_width, mode=mode, **kwargs)
    if t is None:
        return out, None
    return out, xp.pad(t, ((0, 0),) + pad_width, mode=mode)   # a constant border has zero tangent


_pad = defprimitive("pad", _pad_rule, family="shape", kind="linear", complex=True, numpy=("np.pad",),
                    note="modes constant, edge, reflect, symmetric, wrap")


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    if mode not in _LINEAR_PAD_MODES:
        raise ValueError(f"pad on a Dual supports the linear modes {_LINEAR_PAD_MODES}, not {mode!r}")
    constant_values = kwargs.pop("constant_values", 0)
    if kwargs:
        raise TypeError(f"pad on a Dual does not support {sorted(kwargs)}")
    if hasattr(constant_values, "tangent"):
        raise TypeError("pad: constant_values must be a plain number, not a Dual")
    widths = tuple(tuple(int(w) for w in row) for row in np.broadcast_to(np.asarray(pad_width), (np.ndim(array), 2)))
    return bind(_pad, array, pad_width=widths, mode=mode, constant_values=constant_values)


def _flip_axes(x, axis):
    return normalize_axes(axis, np.ndim(x), "flip")


_flip = linear("flip", lambda x, axis: namespace(x).flip(x, axis=_flip_axes(x, axis)),
               lambda t, x, out, axis: namespace(t).flip(t, axis=tuple(a + 1 for a in _flip_axes(x, axis))),
               numpy=("np.flip", "np.fliplr", "np.flipud"))


@implements(np.flip)
def flip(m, axis=None):
    return bind(_flip, m, axis=axis)


@implements(np.fliplr)
def fliplr(m):
    return flip(m, 1)


@implements(np.flipud)
def flipud(m):
    return flip(m, 0)


@implements(np.rot90, via=("flip", "transpose"), note="a view, as in NumPy")
def rot90(m, k=1, axes=(0, 1)):
    """Rotation by 90° k times in the plane of ``axes``: flips and a transpose (a view, as in NumPy)."""
    axes = tuple(axes)
    ndim = np.ndim(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or builtins.abs(axes[0] - axes[1]) == ndim:
        raise ValueError("Axes must be different.")
    if not (-ndim <= axes[0] < ndim and -ndim <= axes[1] < ndim):
        raise ValueError(f"Axes={axes} out of range for array of ndim={ndim}.")
    k %= 4
    if k == 0:
        return getitem(m, slice(None))
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    order = list(range(ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    return transpose(flip(m, axes[1]), order) if k == 1 else flip(transpose(m, order), axes[1])


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    ndim = np.ndim(a)
    axis = normalize_axis(axis, ndim, "rollaxis")
    start = start + ndim if start < 0 else start
    if not 0 <= start < ndim + 1:
        raise np.exceptions.AxisError(f"'start' arg requires {-ndim} <= start < {ndim + 1}, but {start} was passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return getitem(a, Ellipsis)
    order = [n for n in range(ndim) if n != axis]
    order.insert(start, axis)
    return transpose(a, order)


def _repeat_tangent(t, x, out, repeats, axis):
    xp = namespace(t)
    if axis is None:
        return xp.repeat(t.reshape(t.shape[0], -1), repeats, axis=1)
    return xp.repeat(t, repeats, axis=normalize_axis(axis, x.ndim, "repeat") + 1)


_repeat = linear("repeat", lambda x, repeats, axis: namespace(x).repeat(x, repeats, axis=axis), _repeat_tangent,
                 numpy=("np.repeat", "Dual.repeat"))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    return bind(_repeat, a, repeats=repeats, axis=axis)


def _tile_tangent(t, x, out, reps):
    reps = (1,) * (x.ndim - len(reps)) + reps           # numpy pads reps on the left ...
    t = lift(t, len(reps))                              # ... and the array's shape with leading 1s
    return namespace(t).tile(t, (1,) + reps)


_tile = linear("tile", lambda x, reps: namespace(x).tile(x, reps), _tile_tangent, numpy=("np.tile",))


@implements(np.tile)
def tile(A, reps):
    return bind(_tile, A, reps=tuple(np.atleast_1d(reps).tolist()))


def _roll_tangent(t, x, out, shift, axis):
    xp = namespace(t)
    if axis is None:
        return xp.roll(t.reshape(t.shape[0], -1), shift, axis=1).reshape(t.shape)
    axes = tuple(normalize_axis(a, x.ndim, "roll") + 1 for a in np.atleast_1d(axis).tolist())
    return xp.roll(t, shift, axis=axes)


_roll = linear("roll", lambda x, shift, axis: namespace(x).roll(x, shift, axis=axis), _roll_tangent,
               numpy=("np.roll",))


@implements(np.roll)
def roll(a, shift, axis=None):
    return bind(_roll, a, shift=shift, axis=axis)


# ----- triangles and diagonals ---------------------------------------------------------------------
_diagonal = linear("diagonal", lambda x, offset, axis1, axis2: x.diagonal(offset, axis1, axis2),
                   lambda t, x, out, offset, axis1, axis2: t.diagonal(offset, axis1 + 1, axis2 + 1),
                   numpy=("np.diagonal",), view=_read_only)


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    ndim = np.ndim(a)
    return bind(_diagonal, a, offset=offset, axis1=normalize_axis(axis1, ndim, "diagonal"),
                axis2=normalize_axis(axis2, ndim, "diagonal"))


_tril = linear("tril", lambda x, k: namespace(x).tril(x, k), lambda t, x, out, k: namespace(t).tril(t, k),
               numpy=("np.tril",))
_triu = linear("triu", lambda x, k: namespace(x).triu(x, k), lambda t, x, out, k: namespace(t).triu(t, k),
               numpy=("np.triu",))


@implements(np.tril)
def tril(m, k=0):
    if np.ndim(m) < 2:
        raise ValueError("tril on a Dual needs an array of at least 2 dimensions")
    return bind(_tril, m, k=k)


@implements(np.triu)
def triu(m, k=0):
    if np.ndim(m) < 2:
        raise ValueError("triu on a Dual needs an array of at least 2 dimensions")
    return bind(_triu, m, k=k)


# ----- a function applied along axes ------------------------------------------------------------------
@implements(np.apply_along_axis, via=("transpose", "getitem", "stack"),
            note="func1d gets Duals; its results are joined as NumPy joins them")
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    ndim = np.ndim(arr)
    axis = normalize_axis(axis, ndim, "apply_along_axis")
    moved = moveaxis(arr, axis, -1)
    outer = np.shape(moved)[:-1]
    if 0 in outer:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [func1d(getitem(moved, index), *args, **kwargs) for index in np.ndindex(*outer)]
    res_ndim = np.ndim(results[0])
    out = reshape(stack(results), outer + np.shape(results[0]))
    return moveaxis(out, list(range(len(outer), len(outer) + res_ndim)), list(range(axis, axis + res_ndim)))


@implements(np.apply_over_axes, via=("reshape",), note="func gets Duals")
def apply_over_axes(func, a, axes):
    ndim = np.ndim(a)
    for axis in np.atleast_1d(axes).tolist():
        axis = axis + ndim if axis < 0 else axis
        res = func(a, axis)
        if np.ndim(res) != ndim:
            res = expand_dims(res, axis)
            if np.ndim(res) != ndim:
                raise ValueError("function is not returning an array of the correct shape")
        a = res
    return a


# ----- constants shaped like a Dual --------------------------------------------------------------------
def _constant_like(numpy_fn):
    """zeros_like & co. of a Dual: a new Dual (same tag, no tangent) that owns its primal, ready for writes
    (``der = np.zeros_like(x); der[1:-1] = ...``)."""
    def fn(a, *args, **kwargs):
        if not isinstance(a, Dual):
            return numpy_fn(innermost(a), *args, **kwargs)
        primal = numpy_fn(innermost(a), *args, **kwargs)
        if primal.dtype.kind not in "fc":
            return primal                       # an integer or boolean array holds no derivative
        d = Dual._unchecked(primal, None, a.tag)
        d._owned = True
        return d
    implements(numpy_fn)(fn)
    return fn


zeros_like = _constant_like(np.zeros_like)
ones_like = _constant_like(np.ones_like)
empty_like = _constant_like(np.empty_like)
full_like = _constant_like(np.full_like)


# ----- copies ----------------------------------------------------------------------------------------
@implements(np.copy)
def copy(a, order="K", subok=False):
    """A new Dual with its own copies of primal and tangent."""
    return a.copy() if isinstance(a, Dual) else np.copy(a, order=order)


def astype(x, dtype, /, *, copy=True, device=None):
    """np.astype: a floating or complex dtype casts primal and tangent; an integer or boolean one gives the
    plain cast value (Dual.astype)."""
    return x.astype(dtype)


if hasattr(np, "astype"):             # NumPy >= 2.0
    implements(np.astype)(astype)
