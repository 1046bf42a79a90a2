"""OpCases for the shape and indexing rules (see tests/harness.py for the format).

All these rules are linear, so every case is analytic (checked by complex step too) unless the
NumPy function itself refuses complex input.
"""
import numpy as np
from hypothesis import strategies as st

import dualgrad as dg

from .harness import OpCase, fixed, one_shape


def case(rule, fn, shapes, label, **kw):
    return OpCase(rule, fn, shapes, analytic=kw.pop("analytic", True), label=label, **kw)


CASES = [
    # reshape & friends
    case("reshape", lambda x: x.reshape(-1), one_shape(), "flatten by -1"),
    case("reshape", lambda x: np.reshape(x, (2, 3, 2)), fixed((3, 4)), "np.reshape"),
    case("reshape", lambda x: x.reshape(4, 3), fixed((2, 6)), "method varargs"),
    case("reshape", lambda x: np.ravel(x), one_shape(), "np.ravel"),
    case("reshape", lambda x: x.flatten(), one_shape(), "flatten"),
    case("reshape", lambda x: np.expand_dims(x, (0, -1)), one_shape(), "np.expand_dims"),
    case("reshape", lambda x: np.squeeze(x), fixed((1, 3, 1, 2)), "np.squeeze all"),
    case("reshape", lambda x: x.squeeze(axis=0), fixed((1, 1)), "squeeze keeps k even at k=1"),
    case("reshape", lambda x: np.atleast_2d(x), one_shape(max_dims=1), "np.atleast_2d"),
    case("transpose", lambda x: x.T, one_shape(), ".T"),
    case("transpose", lambda x: np.transpose(x, (1, 2, 0)), fixed((2, 3, 4)), "np.transpose axes"),
    case("transpose", lambda x: x.transpose(2, 0, 1), fixed((2, 3, 4)), "method varargs"),
    case("transpose", lambda x: np.moveaxis(x, 0, -1), fixed((2, 3, 4)), "np.moveaxis"),
    case("transpose", lambda x: np.moveaxis(x, [0, 1], [-1, 0]), fixed((2, 3, 4)), "np.moveaxis lists"),
    case("transpose", lambda x: np.swapaxes(x, 0, 2), fixed((2, 3, 4)), "np.swapaxes"),
    case("transpose", lambda x: x.mT, fixed((2, 3, 4)), ".mT"),
    case("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)), st.sampled_from([((4,),), ((3, 1),), ((1, 3, 4),),
                                                                                    ((),)]), "np.broadcast_to"),
    # indexing: basic, advanced, boolean, mixed, non-adjacent advanced indices
    case("getitem", lambda x: x[1:], fixed((5,)), "x[1:]"),
    case("getitem", lambda x: x[1:] - x[:-1] ** 2, fixed((6,)), "rosen-style difference"),
    case("getitem", lambda x: x[::-2, None, 1], fixed((4, 3)), "step, newaxis, int"),
    case("getitem", lambda x: x[..., 0], fixed((2, 3, 4)), "ellipsis"),
    case("getitem", lambda x: x[0], fixed((1, 3)), "int on size-1 axis"),
    case("getitem", lambda x: x[np.array([2, 0, 2])], fixed((3, 2)), "integer array with repeats"),
    case("getitem", lambda x: x[[0, 1], [1, 2]], fixed((3, 4)), "two integer lists"),
    case("getitem", lambda x: x[:, [0, 2]], fixed((2, 3, 4)), "slice then integer list"),
    case("getitem", lambda x: x[[1, 0], :, [2, 3]], fixed((2, 3, 4)), "advanced indices apart"),
    case("getitem", lambda x: x[0, :, [1, 2]], fixed((2, 3, 4)), "int and list apart"),
    case("getitem", lambda x: x[..., [0, 1], 1:, [2, 0]], fixed((2, 3, 4, 3)), "apart, with ellipsis"),
    case("getitem", lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0], fixed((3, 4)), "boolean mask"),
    case("getitem", lambda x: x[:, np.array([True, False, True])], fixed((2, 3)), "boolean on one axis"),
    case("take", lambda x: np.take(x, [2, 0, 1, 2]), fixed((2, 3)), "flat"),
    case("take", lambda x: np.take(x, np.array([[0, 1], [1, 1]]), axis=1), fixed((2, 3)), "2-D indices axis 1"),
    case("take", lambda x: x.take([1, 0], axis=-1), fixed((3, 2)), "method axis -1"),
    # joining and splitting
    case("concatenate", lambda a, b: np.concatenate([a, b]), fixed((2, 3), (1, 3)), "axis 0"),
    case("concatenate", lambda a, b: np.concatenate((a, b), axis=-1), fixed((2, 3), (2, 1)), "axis -1"),
    case("concatenate", lambda a, b: np.concatenate([a, b], axis=None), fixed((2, 3), (4,)), "axis None"),
    case("concatenate", lambda a, b: np.hstack([a, b]), fixed((2,), (3,)), "np.hstack 1-D"),
    case("concatenate", lambda a, b: np.vstack([a, b]), fixed((3,), (2, 3)), "np.vstack"),
    case("stack", lambda a, b: np.stack([a, b]), fixed((2, 3), (2, 3)), "axis 0"),
    case("stack", lambda a, b, c: np.stack([a, b, c], axis=-1), fixed((2,), (2,), (2,)), "axis -1"),
    case("split", lambda x: np.split(x, 3), fixed((6, 2)), "np.split sections"),
    case("split", lambda x: np.split(x, [1, 3], axis=1), fixed((2, 5)), "np.split indices"),
    case("split", lambda x: np.array_split(x, 3, axis=-1), fixed((2, 4)), "np.array_split uneven"),
    # padding, flipping, repeating, rolling
    case("pad", lambda x: np.pad(x, 1), fixed((2, 3)), "constant 0"),
    case("pad", lambda x: np.pad(x, ((0, 2), (1, 0)), constant_values=3.0), fixed((2, 3)), "constant 3"),
    case("pad", lambda x: np.pad(x, 2, mode="reflect"), fixed((3, 4)), "reflect"),
    case("pad", lambda x: np.pad(x, (1, 2), mode="edge"), fixed((3,)), "edge"),
    case("pad", lambda x: np.pad(x, 1, mode="wrap"), fixed((2, 3)), "wrap"),
    case("pad", lambda x: np.pad(x, 1, mode="symmetric"), fixed((2, 2)), "symmetric"),
    case("flip", lambda x: np.flip(x), one_shape(), "all axes"),
    case("flip", lambda x: np.flip(x, axis=(0, -1)), fixed((2, 3, 4)), "two axes"),
    case("flip", lambda x: np.fliplr(x), fixed((2, 3)), "np.fliplr"),
    case("flip", lambda x: np.flipud(x), fixed((2, 3)), "np.flipud"),
    case("repeat", lambda x: np.repeat(x, 2), fixed((2, 3)), "flat"),
    case("repeat", lambda x: np.repeat(x, [1, 0, 2], axis=1), fixed((2, 3)), "per-element counts"),
    case("repeat", lambda x: x.repeat(3, axis=-1), fixed((2, 1)), "method"),
    case("tile", lambda x: np.tile(x, 2), fixed((2, 3)), "int reps"),
    case("tile", lambda x: np.tile(x, (2, 1, 2)), fixed((2, 3)), "more reps than axes"),
    case("tile", lambda x: np.tile(x, (3, 2)), fixed((2, 1, 2)), "fewer reps than axes"),
    case("roll", lambda x: np.roll(x, 2), fixed((2, 3)), "flat"),
    case("roll", lambda x: np.roll(x, (1, -1), axis=(0, 1)), fixed((3, 4)), "two axes"),
    case("diagonal", lambda x: np.diagonal(x), fixed((3, 4)), "main"),
    case("diagonal", lambda x: np.diagonal(x, 1, -1, 0), fixed((2, 3, 4)), "offset and axes"),
    case("tril", lambda x: np.tril(x), fixed((3, 4)), "main"),
    case("tril", lambda x: np.tril(x, -1), fixed((2, 3, 3)), "batched, below"),
    case("triu", lambda x: np.triu(x, 1), fixed((3, 3)), "above"),
    case("getitem", lambda x: dg.getitem(x, (slice(None), 0)), fixed((3, 2)), "dg.getitem"),
]
CASES += [
    case("flip", lambda x: np.rot90(x), fixed((2, 3)), "np.rot90"),
    case("flip", lambda x: np.rot90(x, 2), fixed((2, 3)), "np.rot90 k=2"),
    case("flip", lambda x: np.rot90(x, -1, axes=(2, 0)), fixed((2, 3, 4)), "np.rot90 k=-1 axes"),
    case("transpose", lambda x: np.rollaxis(x, 2), fixed((2, 3, 4)), "np.rollaxis"),
    case("transpose", lambda x: np.rollaxis(x, 0, 3), fixed((2, 3, 4)), "np.rollaxis start"),
    case("reshape", lambda x: np.atleast_3d(x), one_shape(max_dims=4), "np.atleast_3d"),
    case("split", lambda x: np.hsplit(x, 2), fixed((3, 4)), "np.hsplit"),
    case("split", lambda x: np.hsplit(x, [1]), fixed((3,)), "np.hsplit 1-D"),
    case("split", lambda x: np.vsplit(x, [1, 2]), fixed((3, 2)), "np.vsplit"),
    case("split", lambda x: np.dsplit(x, 2), fixed((1, 2, 4)), "np.dsplit"),
    case("concatenate", lambda a, b: np.column_stack([a, b]), fixed((3,), (3, 2)), "np.column_stack"),
    case("concatenate", lambda a, b: np.vstack([a, b], casting="same_kind"), fixed((3,), (2, 3)),
         "np.vstack casting (np.row_stack's path)"),
    case("concatenate", lambda a, b: np.dstack([a, b]), fixed((2,), (1, 2)), "np.dstack"),
    case("concatenate", lambda a, b: np.append(a, b), fixed((2, 2), (3,)), "np.append flat"),
    case("concatenate", lambda a, b: np.append(a, b, axis=0), fixed((2, 3), (1, 3)), "np.append axis 0"),
    case("concatenate", lambda a, b, c: np.block([[a, b], [c]]), fixed((2, 2), (2, 1), (3, 3)), "np.block 2-D"),
    case("concatenate", lambda a, b: np.block([a, a.dtype.type(1.0), b]), fixed((2,), ()),
         "np.block 1-D with a number"),
    case("broadcast_to", lambda a, b: np.broadcast_arrays(a, b), fixed((3, 1), (4,)), "np.broadcast_arrays"),
    case("broadcast_to", lambda a, b: np.meshgrid(a, b), fixed((3,), (2,)), "np.meshgrid xy"),
    case("broadcast_to", lambda a, b, c: np.meshgrid(a, b, c, indexing="ij", copy=False), fixed((3,), (2,), (2,)),
         "np.meshgrid ij"),
    case("reshape", lambda a, b: np.meshgrid(a, b, sparse=True), fixed((3,), (2,)), "np.meshgrid sparse"),
    case("getitem", lambda x: np.unstack(x, axis=1), fixed((2, 3)), "np.unstack"),
    case("stack", lambda a, b: dg.array([[a, a.dtype.type(2.0)], [b, a]]), fixed((), ()), "dg.array of numbers"),
    case("stack", lambda a, b: dg.asarray([a, b]), fixed((2,), (2,)), "dg.asarray of vectors"),
]
