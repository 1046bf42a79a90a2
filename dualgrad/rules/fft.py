"""numpy.fft: every transform is linear, so its tangent is the same transform of each tangent column.

One rule serves the fourteen transforms (``fft``, ``ifft``, ``rfft``, ``irfft``, ``hfft``, ``ihfft`` and
their 2-D and n-D forms): the primal goes through the transform as given, the tangent block through the
same transform with its axes shifted past the tangent axis k. The real-input and Hermitian transforms
(rfft, irfft, hfft, ihfft) are linear over the reals, which is all a tangent needs. ``fftshift`` and
``ifftshift`` are rolls.
"""
from __future__ import annotations

import numpy as np

from ..registry import bind, defprimitive, implements
from ._util import normalize_axis, reject

ONE_AXIS = (np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.irfft, np.fft.hfft, np.fft.ihfft)
SEVERAL_AXES = (np.fft.fft2, np.fft.ifft2, np.fft.rfft2, np.fft.irfft2, np.fft.fftn, np.fft.ifftn, np.fft.rfftn,
                np.fft.irfftn)


def _transform_rule(primals, tangents, transform, options, tangent_options):
    (a,), (t,) = primals, tangents
    return transform(a, **options), None if t is None else transform(t, **tangent_options)


_transform = defprimitive("fft", _transform_rule, family="fft", kind="linear", complex=True,
                          numpy=tuple(f"np.fft.{f.__name__}" for f in ONE_AXIS + SEVERAL_AXES),
                          note="linear: the same transform of each tangent column (norm, n, s as given)")


def _one_axis(transform):
    def fn(a, n=None, axis=-1, norm=None, out=None):
        reject(f"np.fft.{transform.__name__}", out=out)
        axis = normalize_axis(axis, np.ndim(a), f"np.fft.{transform.__name__}")
        return bind(_transform, a, transform=transform, options={"n": n, "axis": axis, "norm": norm},
                    tangent_options={"n": n, "axis": axis + 1, "norm": norm})
    fn.__name__ = fn.__qualname__ = transform.__name__
    return implements(transform)(fn)


def _several_axes(transform):
    default = (-2, -1) if transform.__name__.endswith("2") else None

    def fn(a, s=None, axes=default, norm=None, out=None):
        op = f"np.fft.{transform.__name__}"
        reject(op, out=out)
        ndim = np.ndim(a)
        if axes is None:                       # all axes, or the last len(s) of them
            axes = range(ndim) if s is None else range(ndim - len(s), ndim)
        axes = [normalize_axis(ax, ndim, op) for ax in axes]
        return bind(_transform, a, transform=transform, options={"s": s, "axes": axes, "norm": norm},
                    tangent_options={"s": s, "axes": [ax + 1 for ax in axes], "norm": norm})
    fn.__name__ = fn.__qualname__ = transform.__name__
    return implements(transform)(fn)


for _f in ONE_AXIS:
    _one_axis(_f)
for _f in SEVERAL_AXES:
    _several_axes(_f)


def _shift(x, axes, sign):
    """np.roll by half of each axis (rounded down), forwards (fftshift) or backwards (ifftshift)."""
    shape = np.shape(x)
    if axes is None:
        axes, shift = tuple(range(len(shape))), [sign * (dim // 2) for dim in shape]
    elif isinstance(axes, int | np.integer):
        shift = sign * (shape[axes] // 2)
    else:
        shift = [sign * (shape[ax] // 2) for ax in axes]
    return np.roll(x, shift, axes)


@implements(np.fft.fftshift, via=("roll",))
def fftshift(x, axes=None):
    return _shift(x, axes, 1)


@implements(np.fft.ifftshift, via=("roll",))
def ifftshift(x, axes=None):
    return _shift(x, axes, -1)
