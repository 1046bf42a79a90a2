"""OpCases for the selection family (see tests/harness.py for the format).

Every function here is linear once its positions are fixed, so the cases are analytic (checked by the
complex step too) wherever the positions do not come from comparing values; the order-dependent ones
(sort, partition, unique) draw distinct values, so that a small step keeps the order.
"""
import numpy as np

from .harness import OpCase, distinct, fixed, one_shape

MASK = np.array([[True, False, True], [False, False, True]])


def case(fn, shapes, label, **kw):
    return OpCase("gather", fn, shapes, analytic=kw.pop("analytic", True), label=label, **kw)


CASES = [
    # np.insert casts the values to the array's dtype: the complex step would drop their imaginary part
    case(lambda x, v: np.insert(x, 1, v, axis=0), fixed((2, 3), (3,)), "np.insert a row", analytic=False),
    case(lambda x, v: np.insert(x, [0, 2, 2], v, axis=1), fixed((2, 3), (2, 3)), "np.insert columns, repeated index",
         analytic=False),
    case(lambda x: np.insert(x, -1, 5.0), fixed((2, 3)), "np.insert a number, flat"),
    case(lambda x, v: np.insert(x, 2, v), fixed((4,), ()), "np.insert a 0-d Dual", analytic=False),
    case(lambda x: np.delete(x, [0, 2], axis=1), fixed((2, 4)), "np.delete columns"),
    case(lambda x: np.delete(x, -2), fixed((2, 3)), "np.delete flat"),
    case(lambda x: np.delete(x, np.array([True, False, True]), axis=0), fixed((3, 2)), "np.delete mask"),
    case(lambda x: np.diag(x), one_shape(min_dims=1, max_dims=1), "np.diag of a vector"),
    case(lambda x: np.diag(x, -2), fixed((3,)), "np.diag offset"),
    case(lambda x: np.diagflat(x, 1), fixed((2, 2)), "np.diagflat"),
    # NumPy dispatches np.select on the conditions and choices only: a Dual default needs a Dual choice
    case(lambda a, b, d: np.select([MASK, ~MASK & (np.arange(3) > 0)], [a, b + d], default=d),
         fixed((2, 3), (3,), ()), "np.select, Dual default"),
    case(lambda a: np.select([MASK], [a]), fixed((1, 3)), "np.select default 0, broadcast"),
    case(lambda a, b: np.choose(np.array([[0, 1, 0], [1, 1, 0]]), [a, b]), fixed((2, 3), (3,)), "np.choose"),
    case(lambda a, b: np.choose(np.array([0, 3, -1]), [a, b], mode="clip"), fixed((3,), (3,)), "np.choose clip"),
    case(lambda a, b: np.choose(np.array([0, 3, -1]), (a, b), mode="wrap"), fixed((3,), (1,)), "np.choose wrap"),
    case(lambda x: np.compress([True, False, True], x, axis=1), fixed((2, 3)), "np.compress axis 1"),
    case(lambda x: np.compress([False, True], x), fixed((2, 3)), "np.compress flat"),
    case(lambda x: np.extract(MASK, x), fixed((2, 3)), "np.extract"),
    case(lambda x: np.resize(x, (3, 4)), fixed((2, 3)), "np.resize larger"),
    case(lambda x: np.resize(x, 2), fixed((2, 3)), "np.resize smaller"),
    case(lambda x: np.take_along_axis(x, np.array([[2, 0, 0], [1, 1, 2]]), axis=1), fixed((2, 3)),
         "np.take_along_axis"),
    case(lambda x: np.take_along_axis(x, np.array([[1], [0]]), 0), fixed((2, 3)), "np.take_along_axis broadcast"),
    case(lambda x: np.piecewise(x, [MASK, np.roll(MASK, 1)], [lambda v: v * v, 7.0, lambda v: -2.0 * v]),
         fixed((2, 3)), "np.piecewise, otherwise function"),
    case(lambda x: np.piecewise(x, [MASK], [lambda v: np.sin(v)]), fixed((2, 3)), "np.piecewise zeros elsewhere"),
    case(lambda x: np.sort(x), one_shape(min_dims=1), "np.sort", sample=distinct),
    case(lambda x: np.sort(x, axis=0), fixed((3, 2)), "np.sort axis 0", sample=distinct),
    case(lambda x: np.sort(x, axis=None), fixed((2, 3)), "np.sort flattened", sample=distinct),
    case(lambda x: np.partition(x, 2)[..., 2], fixed((2, 5)), "np.partition kth element", sample=distinct),
    case(lambda x: np.sort(np.partition(x, (0, 3), axis=0), axis=0), fixed((5, 2)), "np.partition values",
         sample=distinct),
    case(lambda x: np.unique(x), one_shape(), "np.unique", sample=distinct),
    case(lambda x: np.unique(np.concatenate([x, x[::-1]])), fixed((4,)), "np.unique of repeats", sample=distinct),
    case(lambda x: np.unique(np.concatenate([x, x]), axis=0, return_counts=True)[0], fixed((2, 3)),
         "np.unique rows", sample=distinct),
    case(lambda x: np.trim_zeros(x * np.array([0, 0, 1, 0, 1, 0], dtype=x.dtype)), fixed((6,)), "np.trim_zeros"),
    case(lambda x: np.trim_zeros(x * np.array([0, 1, 0], dtype=x.dtype), "b"), fixed((3,)), "np.trim_zeros back"),
    case(lambda x: np.trim_zeros(x * np.array([[0, 0, 0], [0, 1, 1]], dtype=x.dtype), axis=0), fixed((2, 3)),
         "np.trim_zeros 2-D"),
]
CASES += [
    # NumPy orders complex unique values by hash (the complex step would reorder them): refused on Duals
    case(lambda x: np.unique_values(x), fixed((2, 3)), "np.unique_values", sample=distinct, analytic=False),
    case(lambda a, b: np.union1d(a, b), fixed((3,), (2, 2)), "np.union1d", sample=distinct),
    case(lambda a: np.union1d(a, a[1:]), fixed((4,)), "np.union1d shared values", sample=distinct),
    case(lambda a: np.intersect1d(np.concatenate([a, a]), a[::2], return_indices=True), fixed((5,)),
         "np.intersect1d", sample=distinct),
    case(lambda a: np.setdiff1d(np.concatenate([a, a[:2]]), a[1:3]), fixed((5,)), "np.setdiff1d", sample=distinct),
    case(lambda a, b: np.setxor1d(a, np.concatenate([a[:2], b])), fixed((4,), (3,)), "np.setxor1d",
         sample=distinct),
]


# ----- NumPy's in-place functions, each on a copy (np.copy of a Dual is a Dual that owns its buffers) -----
def written(write):
    """f(x, v): a copy of x with ``write(a, v)`` applied in place, as NumPy code writes (np.put(a, ...)). The copy
    is a Dual whenever x or v is one (x + 0·Σv): a plain array cannot hold the tangents written into it."""
    def f(x, v):
        a = x + 0 * np.sum(v)
        write(a, v)
        return a
    return f


CASES += [
    case(written(lambda a, v: np.put_along_axis(a, np.array([[1], [0]]), v, axis=1)), fixed((2, 3), (2, 1)),
         "np.put_along_axis"),
    case(written(lambda a, v: np.put(a, [0, -1, 4], v)), fixed((2, 3), (3,)), "np.put"),
    case(written(lambda a, v: np.put(a, [1, 7], v, mode="wrap")), fixed((2, 3), ()), "np.put wrap"),
    case(written(lambda a, v: np.place(a, MASK, v)), fixed((2, 3), (2,)), "np.place (values cycled)"),
    case(written(lambda a, v: np.putmask(a, MASK, v)), fixed((2, 3), (2,)), "np.putmask (values cycled)"),
    case(written(lambda a, v: np.copyto(a, v, where=MASK)), fixed((2, 3), (3,)), "np.copyto where"),
    case(written(lambda a, v: np.fill_diagonal(a, v)), fixed((3, 3), (2,)), "np.fill_diagonal"),
    case(written(lambda a, v: np.fill_diagonal(a, v, wrap=True)), fixed((5, 2), ()), "np.fill_diagonal wrap"),
    case(lambda x: np.sort_complex(x), fixed((4,)), "np.sort_complex", sample=distinct),
]
CASES += [
    case(lambda x: np.unique_counts(np.concatenate([x, x[:1]])).values, fixed((4,)), "np.unique_counts",
         sample=distinct, analytic=False),
    case(lambda x: tuple(np.unique_all(x))[:2], fixed((2, 2)), "np.unique_all", sample=distinct, analytic=False),
]
