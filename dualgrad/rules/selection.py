"""Selection: functions whose output elements are elements of their operands (or zeros).

Once the positions are fixed such a function is linear, and its tangent is the same selection applied
to every tangent column. The positions come from NumPy itself: the function runs on *codes*, integer
arrays numbering the elements of the operands 1, 2, 3, ... in C order (0 stands for a zero the
function fills in), and the codes it returns say which element lands where:

    out = concatenate([0, ravel(x₁), ravel(x₂), ...])[codes]           (the rule of this family: gather)

So np.insert, np.delete, np.diag, np.select, np.choose, ... keep NumPy's exact semantics (broadcasting,
negative indices, modes, errors) with no second implementation. Order-dependent functions (sort,
partition, unique, trim_zeros) take their positions from the innermost primal, the value of a nested
Dual, so every nesting level picks the same elements; where values tie, the tangents follow NumPy's
stable order (first occurrence first).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backend import is_array, namespace, to_numpy
from ..errors import MissingRuleError
from ..registry import bind, defprimitive, implements
from ._util import innermost, normalize_axes, normalize_axis, result_type
from .shape import broadcast_to, diagonal, getitem, reshape, take


def _is_dual(x) -> bool:
    return hasattr(x, "tangent")


def number_elements(*operands) -> list:
    """Integer arrays numbering the elements of each operand 1, 2, ... in C order (0: a filled-in zero)."""
    out, start = [], 1
    for x in operands:
        n = int(np.size(x))
        out.append(np.arange(start, start + n).reshape(np.shape(x)))
        start += n
    return out


def plain_argument(op: str, **arguments) -> list:
    """Refuse Duals where NumPy expects indices, conditions or counts (they have no derivative to carry); returns
    the arguments in order, GPU arrays among them copied to the host, where the positions are computed."""
    for name, value in arguments.items():
        if _is_dual(value) or (isinstance(value, (list, tuple)) and any(_is_dual(v) for v in value)):
            raise TypeError(f"{op}: {name} cannot be a Dual; it is an index, condition or count. Pass a plain "
                            f"array (for a Dual d: d > 0 is one, d.primal its value).")
    return [_on_host(value) for value in arguments.values()]


def _on_host(value):
    """An index argument with its CuPy arrays as NumPy arrays (one device→host copy each)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_on_host(v) for v in value)
    return to_numpy(value) if is_array(value) and not isinstance(value, np.ndarray) else value


# ----- the rule: gather ---------------------------------------------------------------------------
def _flat(x, dtype, xp):
    """x as a 1-D block in ``dtype``: a Dual stays a Dual, an array keeps its module, a number becomes an array."""
    if is_array(x):
        return x.astype(dtype, copy=False).reshape(-1)
    if not _is_dual(x):
        return xp.asarray(x, dtype=dtype).reshape(-1)
    x = x.reshape(-1)
    return x if x.dtype == dtype else x.astype(dtype)


def _gather_rule(primals, tangents, positions, dtype):
    xp, data = namespace(*primals), namespace(*map(innermost, primals))    # data: the arrays' own module
    flat = data.asarray(positions.reshape(-1))                                 # on the data's device
    joined = xp.concatenate([data.zeros(1, dtype=dtype)] + [_flat(p, dtype, xp) for p in primals])
    out = joined[flat].reshape(positions.shape)
    present = [t for t in tangents if t is not None]
    if not present:
        return out, None
    k = present[0].shape[0]
    blocks = [data.zeros((k, 1), dtype=dtype)]                                     # the filled-in zero
    for p, t in zip(primals, tangents):
        if t is None:
            blocks.append(data.zeros((k, int(np.size(p))), dtype=dtype))
        else:
            t = t.reshape(k, -1)
            blocks.append(t if t.dtype == dtype else t.astype(dtype))
    return out, xp.concatenate(blocks, axis=1)[:, flat].reshape((k,) + positions.shape)


_gather = defprimitive("gather", _gather_rule, family="selection", kind="linear", complex=True,
                       numpy=("np.insert", "np.delete", "np.diag", "np.diagflat", "np.select", "np.choose",
                              "np.compress", "np.extract", "np.resize", "np.take_along_axis", "np.piecewise"),
                       note="positions from the NumPy function run on integer codes of the elements")


def gather(positions, *operands, dtype=None, op: str = "gather"):
    """``concatenate([0, ravel(operands[0]), ravel(operands[1]), ...])[positions]`` in ``dtype``.

    ``positions`` holds codes as numbered by ``number_elements(*operands)`` (0 selects a zero). The
    dtype defaults to the operands' result type; NumPy's casts to an integer dtype are refused on Duals.
    """
    dtype = np.dtype(result_type(*operands) if dtype is None else dtype)
    if dtype.kind not in "fc" and any(_is_dual(x) for x in operands):
        raise TypeError(f"{op}: the result would have dtype {dtype}, which would cast the Dual values to "
                        f"integers and drop their tangents; make the array operands floating-point first.")
    return bind(_gather, *operands, positions=np.asarray(positions), dtype=dtype)


# ----- positions given by the caller --------------------------------------------------------------
@implements(np.insert)
def insert(arr, obj, values, axis=None):
    (obj,) = plain_argument("insert", obj=obj)
    c_arr, c_values = number_elements(arr, values)
    return gather(np.insert(c_arr, obj, c_values, axis=axis), arr, values, dtype=result_type(arr), op="insert")


@implements(np.delete)
def delete(arr, obj, axis=None):
    (obj,) = plain_argument("delete", obj=obj)
    (c_arr,) = number_elements(arr)
    return gather(np.delete(c_arr, obj, axis=axis), arr, op="delete")


@implements(np.diag)
def diag(v, k=0):
    """A 2-D operand gives its k-th diagonal (a view, as in NumPy); a 1-D one the matrix with it as k-th diagonal."""
    if np.ndim(v) == 2:
        return diagonal(v, k)
    (c,) = number_elements(v)
    return gather(np.diag(c, k), v, op="diag")


@implements(np.diagflat)
def diagflat(v, k=0):
    (c,) = number_elements(v)
    return gather(np.diagflat(c, k), v, op="diagflat")


@implements(np.select)
def select(condlist, choicelist, default=0):
    (condlist,) = plain_argument("select", condlist=condlist)
    *c_choices, c_default = number_elements(*choicelist, default)
    return gather(np.select(condlist, c_choices, default=c_default), *choicelist, default,
                  dtype=result_type(*choicelist, default), op="select")


@implements(np.choose)
def choose(a, choices, out=None, mode="raise"):
    (a,) = plain_argument("choose", a=a)
    if out is not None:
        raise TypeError("choose on Duals does not support out=; use the returned value")
    c_choices = number_elements(*choices)
    return gather(np.choose(a, c_choices, mode=mode), *choices, op="choose")


@implements(np.compress)
def compress(condition, a, axis=None, out=None):
    (condition,) = plain_argument("compress", condition=condition)
    if out is not None:
        raise TypeError("compress on Duals does not support out=; use the returned value")
    (c,) = number_elements(a)
    return gather(np.compress(condition, c, axis=axis), a, op="compress")


@implements(np.extract)
def extract(condition, arr):
    (condition,) = plain_argument("extract", condition=condition)
    (c,) = number_elements(arr)
    return gather(np.extract(condition, c), arr, op="extract")


@implements(np.resize)
def resize(a, new_shape):
    (c,) = number_elements(a)
    return gather(np.resize(c, new_shape), a, op="resize")


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    (indices,) = plain_argument("take_along_axis", indices=indices)
    (c,) = number_elements(arr)
    return gather(np.take_along_axis(c, indices, axis=axis), arr, op="take_along_axis")


@implements(np.piecewise)
def piecewise(x, condlist, funclist, *args, **kw):
    """np.piecewise: ``funclist[i](x[condlist[i]])`` where condition i holds (later conditions win), 0 elsewhere.

    The functions receive Duals and may return Duals or numbers; a trailing extra function covers the
    elements no condition selects, as in NumPy.
    """
    (condlist,) = plain_argument("piecewise", condlist=condlist)
    ndim = np.ndim(x)
    if np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray)) and ndim != 0):
        condlist = [condlist]
    conditions = np.asarray(condlist, dtype=bool)
    if len(conditions) == len(funclist) - 1:
        conditions = np.concatenate([conditions, ~np.any(conditions, axis=0, keepdims=True)], axis=0)
    elif len(conditions) != len(funclist):
        raise ValueError(f"with {len(conditions)} condition(s), either {len(conditions)} or "
                         f"{len(conditions) + 1} functions are expected")
    positions = np.zeros(np.shape(x), dtype=np.intp)
    pieces, start = [], 1
    for cond, func in zip(conditions, funclist):
        count = int(np.count_nonzero(cond))
        if count == 0:
            continue
        values = func(getitem(x, cond), *args, **kw) if isinstance(func, Callable) else func
        pieces.append(broadcast_to(values, (count,)))      # a scalar repeats, as in y[cond] = value
        positions[cond] = np.arange(start, start + count)
        start += count
    return gather(positions, *pieces, dtype=result_type(x), op="piecewise")


# ----- positions from the value: sort, partition, unique, trim_zeros ------------------------------
def _flattened(a, axis):
    """(a, axis) with axis=None meaning the flattened array, as NumPy's sort-like functions read it."""
    if axis is None:
        return reshape(a, (-1,)), 0
    return a, normalize_axis(axis, np.ndim(a), "sort")


@implements(np.sort, via=("gather",), note="ties: the tangents follow NumPy's stable order (first occurrence first)")
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise TypeError("sort on a Dual does not support order= (structured arrays)")
    a, axis = _flattened(a, axis)
    return take_along_axis(a, np.argsort(innermost(a), axis=axis, kind="stable"), axis)


@implements(np.sort_complex, via=("gather",), note="sorted as complex numbers (real part first), as NumPy does")
def sort_complex(a):
    out = sort(a)
    return out if np.iscomplexobj(out) else out.astype(np.complex64 if np.result_type(a).char in "bhBH"
                                                       else np.complex128)


@implements(np.partition, via=("gather",),
            note="the order of np.argpartition: kth elements exact; the others in a valid but unspecified order")
def partition(a, kth, axis=-1, kind="introselect", order=None):
    if order is not None:
        raise TypeError("partition on a Dual does not support order= (structured arrays)")
    (kth,) = plain_argument("partition", kth=kth)
    a, axis = _flattened(a, axis)
    values = innermost(a)
    options = {"kind": kind} if namespace(values) is np else {}      # CuPy's argpartition has one kind only
    return take_along_axis(a, np.argpartition(values, kth, axis=axis, **options), axis)


@implements(np.unique, via=("take",),
            note="each value carries the tangent of its first occurrence; index, inverse and counts are plain")
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           sorted=True):
    extra = {} if sorted else {"sorted": False}
    found = np.unique(innermost(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=equal_nan, **extra)
    values = take(ar, found[1], axis=axis)
    if not (return_index or return_inverse or return_counts):
        return values
    return (values,) + tuple(r for r, wanted in zip(found[1:], (return_index, return_inverse, return_counts))
                             if wanted)


@implements(np.trim_zeros, via=("getitem",), note="the slice is found from the value; a view, as in NumPy")
def trim_zeros(filt, trim="fb", axis=None):
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    values = innermost(filt)
    ndim = np.ndim(values)
    axes = normalize_axes(axis, ndim, "trim_zeros")
    if not axes:
        return filt
    nonzero = np.argwhere(values)
    if nonzero.size == 0:                  # all zero: an empty slice along every trimmed axis
        start = stop = np.zeros(ndim, dtype=np.intp)
    else:
        start = nonzero.min(axis=0) if "f" in trim else (None,) * ndim
        stop = nonzero.max(axis=0) + 1 if "b" in trim else (None,) * ndim
    index = tuple(slice(start[ax], stop[ax]) if ax in axes else slice(None) for ax in range(ndim))
    return getitem(filt, index[0] if ndim == 1 else index)


def _first_occurrences(x, found, op):
    """The flat index of the first occurrence of each of NumPy's unique ``found`` values in x."""
    if np.iscomplexobj(x):
        raise MissingRuleError(f"np.{op} of complex values has no rule: NumPy may order them by hash, which any "
                               "perturbation may change; use np.unique (sorted)")
    ordered, first = np.unique(np.ravel(innermost(x)), return_index=True, equal_nan=False)
    return first[np.searchsorted(ordered, found)]


if hasattr(np, "unique_values"):      # NumPy >= 2.0: np.unique without merging NaNs, in NumPy's order
    @implements(np.unique_values, via=("take",), note="each value carries the tangent of its first occurrence")
    def unique_values(x):
        found = np.unique_values(innermost(x))
        return take(reshape(x, (-1,)), _first_occurrences(x, found, "unique_values"))

    def _unique_result(numpy_fn):
        """np.unique_counts, _inverse, _all: NumPy's named tuple with its values taken from x."""
        def fn(x):
            found = numpy_fn(innermost(x))
            index = _first_occurrences(x, found.values, numpy_fn.__name__)
            return found._replace(values=take(reshape(x, (-1,)), index))
        fn.__name__ = fn.__qualname__ = numpy_fn.__name__
        implements(numpy_fn, via=("take",), note="values with the tangents of their first occurrences; indices "
                                                  "and counts plain")(fn)

    for _fn in (np.unique_counts, np.unique_inverse, np.unique_all):
        _unique_result(_fn)


# ----- set operations: the values are elements of the operands -------------------------------------
@implements(np.union1d, via=("take",), note="a value in both arrays carries the tangent of its first occurrence "
                                            "in ar1")
def union1d(ar1, ar2):
    return unique(np.concatenate((ar1, ar2), axis=None))


@implements(np.intersect1d, via=("take",), note="the values carry ar1's tangents; the indices are plain")
def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    _, in1, in2 = np.intersect1d(innermost(ar1), innermost(ar2), assume_unique=assume_unique, return_indices=True)
    values = take(reshape(ar1, (-1,)), in1)
    return (values, in1, in2) if return_indices else values


@implements(np.setdiff1d, via=("take", "getitem"))
def setdiff1d(ar1, ar2, assume_unique=False):
    ar1 = reshape(ar1, (-1,)) if assume_unique else unique(ar1)
    return getitem(ar1, ~np.isin(innermost(ar1), innermost(ar2), assume_unique=True))


@implements(np.setxor1d, via=("take", "gather", "getitem"))
def setxor1d(ar1, ar2, assume_unique=False):
    if not assume_unique:
        ar1, ar2 = unique(ar1), unique(ar2)
    joined = sort(np.concatenate((ar1, ar2), axis=None))
    if np.size(joined) == 0:
        return joined
    values = innermost(joined)
    alone = np.concatenate(([True], values[1:] != values[:-1], [True]))
    return getitem(joined, alone[1:] & alone[:-1])


# ----- NumPy's in-place functions: the result computed as above, then written into the target --------
def _write_into(op, target, result):
    """``target[...] = result`` (the Dual's own write, which views of it see); None, as NumPy returns."""
    if not _is_dual(target):
        raise TypeError(f"np.{op}: the target is a plain {type(target).__name__} and the values written are "
                        "Duals, whose tangents it cannot hold. Make the target a Dual first: "
                        "a = np.zeros_like(x) with x a Dual, or a = np.copy(d).")
    target[...] = result


@implements(np.put_along_axis, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def put_along_axis(arr, indices, values, axis):
    (indices,) = plain_argument("put_along_axis", indices=indices)
    c_arr, c_values = number_elements(arr, values)
    np.put_along_axis(c_arr, indices, c_values, axis)
    _write_into("put_along_axis", arr, gather(c_arr, arr, values, dtype=result_type(arr), op="put_along_axis"))


def _write_selected(numpy_write, target, where, values, **options):
    """NumPy's in-place ``numpy_write(target, where, values)`` (np.put, np.place, np.putmask) on element codes,
    whose result picks the target's own elements and the values' from both Duals (``gather``)."""
    op = numpy_write.__name__
    c_target, c_values = number_elements(target, values)
    numpy_write(c_target, where, c_values, **options)
    _write_into(op, target, gather(c_target, target, values, dtype=result_type(target), op=op))


@implements(np.put, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def put(a, ind, v, mode="raise"):
    (ind,) = plain_argument("put", ind=ind)
    _write_selected(np.put, a, ind, v, mode=mode)


@implements(np.place, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def place(arr, mask, vals):
    (mask,) = plain_argument("place", mask=mask)
    _write_selected(np.place, arr, mask, vals)


@implements(np.putmask, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def putmask(a, mask, values):
    (mask,) = plain_argument("putmask", mask=mask)
    _write_selected(np.putmask, a, mask, values)


@implements(np.copyto, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def copyto(dst, src, casting="same_kind", where=True):
    (where,) = plain_argument("copyto", where=where)
    dtype = result_type(dst)
    if not np.can_cast(result_type(src), dtype, casting=casting):
        raise TypeError(f"Cannot cast array data from {result_type(src)!r} to {dtype!r} according to the rule "
                        f"{casting!r}")
    c_dst, c_src = number_elements(dst, src)
    np.copyto(c_dst, c_src, where=where)
    _write_into("copyto", dst, gather(c_dst, dst, src, dtype=dtype, op="copyto"))


@implements(np.fill_diagonal, via=("gather",), note="in place: writes the Dual target (primal and tangent)")
def fill_diagonal(a, val, wrap=False):
    c_a, c_val = number_elements(a, val)
    np.fill_diagonal(c_a, c_val, wrap=wrap)
    _write_into("fill_diagonal", a, gather(c_a, a, val, dtype=result_type(a), op="fill_diagonal"))
