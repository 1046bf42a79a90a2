"""``scipy.signal``'s convolutions on Duals: ``convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve``,
``convolve2d``, ``correlate2d``, with SciPy's signatures, defaults, modes and values.

Either operand may be a Dual (or both), real or complex, of any order of derivative:

    import dualgrad.scipy.signal as signal
    signal.convolve(x, w, mode="same")            # x and/or w Duals

**Tangent.** Convolution is bilinear: d(in1 ⋆ in2) = d in1 ⋆ in2 + in1 ⋆ d in2, for complex operands too (no
conjugate). Correlation is ``convolve(in1, conj(reversed in2))``, so its tangent is
``correlate(d in1, in2) + correlate(in1, d in2)`` (the conjugate falls on d in2). SciPy computes both terms, with
the same ``method``: for "fft"/"oa" in one call each for all k tangent columns (the columns form one more axis,
broadcast against a unit axis of the other operand, with no transform along it), for "auto"/"direct" one call per
column. Cost: about 2k + 1 convolutions when both operands are Duals, k + 1 when one is. The rule nests: a second
derivative convolves tangents of tangents (d²/ds dt of ``convolve(x + s·u, w + t·v)`` is ``convolve(u, v)``).

**Modes**, exactly as SciPy: each function computes the full convolution and cuts it.

* ``"full"``: every overlap, shape s1 + s2 − 1 along each convolved axis.
* ``"same"``: the centre of the full result with in1's shape, starting at (s2 − 1) // 2 (correlate2d: at
  s2 // 2, as SciPy's ``correlate2d`` centres on the kernel's middle element).
* ``"valid"``: the positions where the operands overlap completely. If in2 is at least as large as in1 along every
  axis, the operands are swapped first (SciPy's rule; convolution is commutative, ``correlate`` conjugates and
  reverses accordingly). One must be at least as large as the other along every axis, else ``ValueError``.

**Methods.** ``convolve``/``correlate`` take SciPy's ``method``: "auto" (SciPy's ``choose_conv_method``), "direct"
or "fft"; ``fftconvolve``/``oaconvolve`` transform with the FFT or by overlap-add along ``axes`` (default all; axes
left out broadcast, as SciPy). ``convolve2d``/``correlate2d`` compute directly, as SciPy does, with
``boundary="fill"`` (in1 extended by ``fillvalue``; a nonzero fill adds fillvalue·Σ in2, and fillvalue may be a
Dual), ``"wrap"``/``"circular"`` (periodic) or ``"symm"``/``"symmetric"`` (mirrored): the latter two pad in1 with
``np.pad`` and convolve without a boundary. Values agree with SciPy's to rounding (the same SciPy routines compute
them; the FFT methods round like any FFT).

**Conventions kept from SciPy.** 0-d operands multiply (``correlate`` conjugates in2); operands of different ranks
raise ``ValueError``; an empty operand gives ``np.array([])`` in ``fftconvolve``/``oaconvolve`` and SciPy's
error elsewhere. ``correlate2d`` in ``"valid"`` mode with swapped
operands reverses SciPy's result without conjugating it, so for complex operands it returns the conjugate of
``correlate``'s value there; dualgrad returns SciPy's value and its derivative.

Not here: ``choose_conv_method`` and the filters, windows and spectral functions of ``scipy.signal`` (their names
raise ``AttributeError``). Data on a GPU (CuPy) raises ``dg.BackendUnsupportedError``: SciPy takes NumPy arrays.
"""
from __future__ import annotations

import numpy as np

from ..rules._util import normalize_axis, sequence_as_array
from ..rules.numeric import convolve_nd

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
#: convolve2d's boundary names (SciPy's, with their aliases) -> np.pad's mode; "fill" has none.
_BOUNDARIES = {"fill": None, "pad": None, "wrap": "wrap", "circular": "wrap", "symm": "symmetric",
               "symmetric": "symmetric"}


# ----- shared steps ----------------------------------------------------------------------------------------------
def _operands(op, in1, in2):
    """in1, in2 as arrays or Duals (lists as NumPy reads them), checked to be of one rank as SciPy requires."""
    in1, in2 = sequence_as_array(in1), sequence_as_array(in2)
    in1 = in1 if hasattr(in1, "shape") else np.asarray(in1)
    in2 = in2 if hasattr(in2, "shape") else np.asarray(in2)
    if np.ndim(in1) != np.ndim(in2):
        raise ValueError(f"{op}: in1 and in2 should have the same dimensionality (got shapes {np.shape(in1)} and "
                         f"{np.shape(in2)})")
    return in1, in2


def _check(op, mode, method=None):
    if mode not in _MODES:
        raise ValueError(f"{op}: acceptable mode flags are 'valid', 'same', or 'full' (got {mode!r})")
    if method is not None and method not in _METHODS:
        raise ValueError(f"{op}: acceptable method flags are 'auto', 'direct', or 'fft' (got {method!r})")


def _swap_needed(mode, s1, s2, axes) -> bool:
    """SciPy's rule for "valid": swap when in2 is at least as large as in1 along every convolved axis (and not the
    other way round); one of them must be."""
    if mode != "valid" or not s1:
        return False
    ok1 = all(s1[a] >= s2[a] for a in axes)
    ok2 = all(s2[a] >= s1[a] for a in axes)
    if not (ok1 or ok2):
        raise ValueError(f"For 'valid' mode, one must be at least as large as the other in every dimension (got "
                         f"shapes {s1} and {s2})")
    return not ok1


def _centered(x, shape):
    """The centre ``shape`` part of x (starting at (x.shape − shape) // 2 along each axis, as SciPy's ``_centered``)."""
    return _cut(x, [(n - m) // 2 for n, m in zip(np.shape(x), shape)], shape)


def _cut(x, starts, shape):
    return x[tuple(slice(s, s + m) for s, m in zip(starts, shape))]


def _reversed(x):
    return x[(slice(None, None, -1),) * np.ndim(x)]


def _conj(x):
    """conj(x) for complex x, x itself for real x (SciPy's ``_reverse_and_conj`` leaves real dtypes alone)."""
    return np.conj(x) if np.result_type(x).kind == "c" else x


# ----- N-d ------------------------------------------------------------------------------------------------------
def convolve(in1, in2, mode: str = "full", method: str = "auto"):
    """Convolve two N-dimensional arrays (``scipy.signal.convolve``): Σ_m in1[m]·in2[n − m], cut to ``mode``.

    Tangent: ``convolve(d in1, in2) + convolve(in1, d in2)`` (bilinear, also for complex operands).
    """
    in1, in2 = _operands("convolve", in1, in2)
    _check("convolve", mode, method)
    if np.ndim(in1) == 0:
        return in1 * in2
    axes = tuple(range(np.ndim(in1)))
    if _swap_needed(mode, np.shape(in1), np.shape(in2), axes):
        in1, in2 = in2, in1
    s1, s2 = np.shape(in1), np.shape(in2)
    full = convolve_nd(in1, in2, axes, method)
    if mode == "full":
        return full
    return _centered(full, s1 if mode == "same" else [a - b + 1 for a, b in zip(s1, s2)])


def correlate(in1, in2, mode: str = "full", method: str = "auto"):
    """Cross-correlate two N-dimensional arrays (``scipy.signal.correlate``): Σ_m in1[n + m]·conj(in2[m]), as
    ``convolve(in1, conj(reversed in2), mode, method)``.

    Tangent: ``correlate(d in1, in2) + correlate(in1, d in2)`` (linear in in1, conjugate-linear in in2).
    """
    in1, in2 = _operands("correlate", in1, in2)
    _check("correlate", mode, method)
    if np.ndim(in1) == 0:
        return in1 * _conj(in2)
    return convolve(in1, _conj(_reversed(in2)), mode, method)


def _transform_convolution(op, method, in1, in2, mode, axes):
    """``fftconvolve`` / ``oaconvolve``: SciPy's checks of ``axes`` (axes where either operand has length 1 are
    broadcast rather than transformed; the others must match or be 1), its "valid" swap, and its modes."""
    in1, in2 = _operands(op, in1, in2)
    _check(op, mode)
    if np.ndim(in1) == 0:
        return in1 * in2
    if np.size(in1) == 0 or np.size(in2) == 0:
        return np.array([])
    s1, s2 = np.shape(in1), np.shape(in2)
    ndim = len(s1)
    if axes is None:
        axes = range(ndim)
    else:
        axes = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
        if not axes:
            raise ValueError(f"{op}: when provided, axes cannot be empty")
        axes = [normalize_axis(int(a), ndim, op) for a in axes]
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: all axes must be unique (got {axes})")
    axes = [a for a in axes if s1[a] != 1 and s2[a] != 1]
    if method == "oa":
        axes.sort()
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1 for a in range(ndim) if a not in axes):
        raise ValueError(f"{op}: incompatible shapes for in1 and in2: {s1} and {s2}")
    if _swap_needed(mode, s1, s2, axes):
        in1, in2 = in2, in1
        s1, s2 = s2, s1
    full = convolve_nd(in1, in2, tuple(axes), method) if axes else in1 * in2
    if mode == "full":
        return full
    if mode == "same":
        return _centered(full, s1)
    return _centered(full, [np.shape(full)[a] if a not in axes else s1[a] - s2[a] + 1 for a in range(ndim)])


def fftconvolve(in1, in2, mode: str = "full", axes=None):
    """Convolve two N-dimensional arrays using the FFT (``scipy.signal.fftconvolve``), over ``axes`` (default all);
    the other axes broadcast. Tangent: as ``convolve``, transformed with the FFT as well."""
    return _transform_convolution("fftconvolve", "fft", in1, in2, mode, axes)


def oaconvolve(in1, in2, mode: str = "full", axes=None):
    """Convolve two N-dimensional arrays using the overlap-add method (``scipy.signal.oaconvolve``), over ``axes``
    (default all); the other axes broadcast. Tangent: as ``convolve``, by overlap-add as well."""
    return _transform_convolution("oaconvolve", "oa", in1, in2, mode, axes)


# ----- 2-D with boundaries -----------------------------------------------------------------------------------------
def _full_2d(op, in1, in2, boundary, fillvalue):
    """The full 2-D convolution of in1, extended beyond its edges as ``boundary`` says, with in2: shape s1 + s2 − 1."""
    if boundary not in _BOUNDARIES:
        raise ValueError(f"{op}: acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and 'symmetric' (or "
                         f"'symm') (got {boundary!r})")
    if np.size(fillvalue) != 1:
        raise ValueError(f"{op}: `fillvalue` must be scalar or an array with one element")
    s2 = np.shape(in2)
    pad = _BOUNDARIES[boundary]
    if pad is not None:          # out[n] = Σ_m in2[m]·in1ext[n − m] reaches s2 − 1 beyond each edge of in1
        extended = np.pad(in1, [(m - 1, m - 1) for m in s2], mode=pad)
        return _cut(convolve_nd(extended, in2, (0, 1), "direct"), [m - 1 for m in s2],
                    [a + b - 1 for a, b in zip(np.shape(in1), s2)])
    fillvalue = np.reshape(fillvalue, ())
    if not hasattr(fillvalue, "tangent") and fillvalue == 0:
        return convolve_nd(in1, in2, (0, 1), "direct")
    # in1 extended by c: Σ_m in2[m]·(in1ext − c)[n − m] + c·Σ_m in2[m], where in1ext − c vanishes outside in1
    return convolve_nd(in1 - fillvalue, in2, (0, 1), "direct") + fillvalue * np.sum(in2)


def _operands_2d(op, in1, in2, mode):
    in1, in2 = _operands(op, in1, in2)
    if not np.ndim(in1) == np.ndim(in2) == 2:
        raise ValueError(f"{op} inputs must both be 2-D arrays (got shapes {np.shape(in1)} and {np.shape(in2)})")
    _check(op, mode)
    swapped = _swap_needed(mode, np.shape(in1), np.shape(in2), (0, 1))
    return (in2, in1, swapped) if swapped else (in1, in2, swapped)


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0):
    """Convolve two 2-D arrays (``scipy.signal.convolve2d``), in1 extended beyond its edges by ``boundary``
    ("fill" with ``fillvalue``, "wrap"/"circular", "symm"/"symmetric"), cut to ``mode``.

    Tangent: ``convolve2d(d in1, in2) + convolve2d(in1, d in2)``; a Dual ``fillvalue`` adds d fillvalue times
    the sum of in2 over the positions that fall outside in1.
    """
    in1, in2, _ = _operands_2d("convolve2d", in1, in2, mode)
    s1, s2 = np.shape(in1), np.shape(in2)
    full = _full_2d("convolve2d", in1, in2, boundary, fillvalue)
    if mode == "full":
        return full
    return _centered(full, s1 if mode == "same" else [a - b + 1 for a, b in zip(s1, s2)])


def correlate2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0):
    """Cross-correlate two 2-D arrays (``scipy.signal.correlate2d``): Σ_m in1ext[n + m]·conj(in2[m]), in1
    extended by ``boundary`` as in ``convolve2d``; "same" centres on in2's element s2 // 2, as SciPy.

    Tangent: linear in in1 (and fillvalue), conjugate-linear in in2.
    """
    in1, in2, swapped = _operands_2d("correlate2d", in1, in2, mode)
    s1, s2 = np.shape(in1), np.shape(in2)
    full = _full_2d("correlate2d", in1, _conj(_reversed(in2)), boundary, fillvalue)
    if mode == "full":
        return full
    if mode == "same":
        return _cut(full, [m // 2 for m in s2], s1)
    out = _cut(full, [m - 1 for m in s2], [a - b + 1 for a, b in zip(s1, s2)])
    return _reversed(out) if swapped else out      # SciPy reverses without conjugating (see the module's notes)


def __getattr__(name: str):
    import scipy.signal

    if not hasattr(scipy.signal, name):
        raise AttributeError(f"scipy.signal has no attribute {name!r}")
    raise AttributeError(f"dualgrad.scipy.signal has no counterpart for scipy.signal.{name}; it provides "
                         f"{', '.join(__all__)}")
