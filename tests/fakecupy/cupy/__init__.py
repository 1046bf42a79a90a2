"""A NumPy stand-in for CuPy (see ../README.md): the host/device boundary of CuPy, on the host."""
from __future__ import annotations

import builtins as _b
import functools
import types

import numpy as _np

__version__ = "0.0-fake"


class ndarray:
    """A wrapped NumPy array that refuses implicit conversion, as a CuPy array does."""
    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, shape, dtype=float):
        self._a = _np.empty(shape, dtype)

    # ----- the boundary ------------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
                        "NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None):
        return self._a.copy()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if _b.any(_foreign(x) for x in inputs + tuple(kwargs.get("out", ()))):
            return NotImplemented                 # another library's array (a Dual): let it handle the call
        inputs = [_unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        if _b.any(not issubclass(t, (ndarray, _np.ndarray)) for t in types_):
            return NotImplemented                 # CuPy handles its own arrays and NumPy's (then mostly refuses them)
        name = func.__name__
        module = func.__module__ or ""
        target = _module_for(module)
        impl = getattr(target, name, None) if target is not None else None
        if impl is None:
            raise TypeError(f"no implementation found for '{module}.{name}' on types that implement "
                            f"__array_function__: [<class 'cupy.ndarray'>]")
        return impl(*args, **kwargs)

    # ----- attributes and methods forwarded --------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: _wrap(self._a.T))
    mT = property(lambda self: _wrap(self._a.mT))
    device = property(lambda self: _Device())

    @property
    def real(self):
        return _wrap(self._a.real)

    @real.setter
    def real(self, value):
        self._a.real = _unwrap(value)

    @property
    def imag(self):
        return _wrap(self._a.imag)

    @imag.setter
    def imag(self, value):
        self._a.imag = _unwrap(value)

    def max(self, *args, **kwargs):
        _no_initial(**kwargs)
        return _wrap(self._a.max(*_unwrap(args), **_unwrap(kwargs)))

    def min(self, *args, **kwargs):
        _no_initial(**kwargs)
        return _wrap(self._a.min(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        if name.startswith("__"):                 # no __array_interface__ / __array_struct__ for NumPy to read
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return lambda *a, **k: _wrap(attr(*(_unwrap(x) for x in a), **{n: _unwrap(v) for n, v in k.items()}))
        return _wrap(attr)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(x) for x in self._a)

    def __repr__(self):
        return "fakecupy." + repr(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __bool__(self):
        return _b.bool(self._a)

    def __complex__(self):
        return complex(self._a)

    def __hash__(self):
        raise TypeError("unhashable type: 'cupy.ndarray'")

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        self._a[_index(key)] = _unwrap(value, allow_host=True)

    def __copy__(self):
        return _wrap(self._a.copy())

    def __deepcopy__(self, memo):
        return _wrap(self._a.copy())

    def __reduce__(self):
        raise TypeError("fake cupy arrays are not picklable here")

    def __dlpack__(self, *a, **k):
        raise TypeError("no DLPack in the fake")


def _binary(name):
    def op(self, other):
        if _foreign(other):
            return NotImplemented                 # as CuPy: the other library's reflected operator decides
        return _wrap(getattr(self._a, name)(_unwrap(other)))
    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
              "rshift", "divmod"):
    for _form in (f"__{_name}__", f"__r{_name}__", f"__i{_name}__"):
        if hasattr(_np.ndarray, _form):
            setattr(ndarray, _form, _binary(_form))
for _form in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(ndarray, _form, _binary(_form))
for _form in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(ndarray, _form, (lambda f: lambda self: _wrap(getattr(self._a, f)()))(_form))


class _Device:
    id = 0

    def synchronize(self):
        pass

    def __repr__(self):
        return "<CUDA Device 0 (fake)>"


def _foreign(x) -> bool:
    """Whether ``x`` is another library's array type that takes part in NumPy's dispatch."""
    return (_b.hasattr(type(x), "__array_ufunc__") and not isinstance(x, (ndarray, _np.ndarray, _np.generic))
            and type(x).__array_ufunc__ is not None)


def _is_host_array(x) -> bool:
    return isinstance(x, _np.ndarray)


def _unwrap(x, allow_host=False):
    """The NumPy array inside ``x`` (recursively through lists/tuples/dicts); a NumPy array is refused as CuPy
    refuses it."""
    if isinstance(x, ndarray):
        return x._a
    if _is_host_array(x) and not allow_host:
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, list):
        return [_unwrap(v, allow_host) for v in x]
    if isinstance(x, tuple):
        return tuple(_unwrap(v, allow_host) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, allow_host) for k, v in x.items()}
    return x


def _wrap(x):
    """NumPy arrays and scalars as fake device arrays (reductions give 0-d arrays, as CuPy's do)."""
    if isinstance(x, _np.ndarray):
        out = ndarray.__new__(ndarray)
        out._a = x
        return out
    if isinstance(x, _np.generic):
        return _wrap(_np.asarray(x))
    if isinstance(x, tuple):
        values = [_wrap(v) for v in x]
        return type(x)(*values) if hasattr(x, "_fields") else tuple(values)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _index(key):
    """An index as NumPy takes it: device arrays unwrapped; host index arrays are accepted (CuPy copies them)."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    return key


# ----- the module: NumPy's functions on fake arrays -----------------------------------------------------------
#: functions that take host data and make device arrays
_CREATION_FROM_DATA = {"asarray", "array", "ascontiguousarray", "asfortranarray", "asanyarray", "array_equal"}


def _lift(fn, from_host=False):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        args = [_unwrap(a, allow_host=from_host) for a in args]
        kwargs = {k: _unwrap(v, allow_host=from_host) for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs))
    return call


class _Ufunc:
    """A ufunc that refuses host arrays, as CuPy's do; its methods (reduce, outer, at, ...) likewise."""

    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _lift(self._u)(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._u, name)
        return _lift(attr) if callable(attr) else attr


def _module_for(module: str):
    return {"numpy": _this, "numpy.linalg": linalg, "numpy.fft": fft, "numpy.lib.stride_tricks": _stride,
            "numpy.lib._stride_tricks_impl": _stride}.get(module, _this if module.startswith("numpy") else None)


def _fill(namespace, source, from_host=()):
    for name in dir(source):
        if name.startswith("_") or name in namespace:
            continue
        obj = getattr(source, name)
        if isinstance(obj, _np.ufunc):
            namespace[name] = _Ufunc(obj)
        elif callable(obj) and not isinstance(obj, type):
            namespace[name] = _lift(obj, name in from_host)
        elif isinstance(obj, type) and issubclass(obj, _np.generic) or name in ("pi", "e", "inf", "nan", "newaxis"):
            namespace[name] = obj


def asnumpy(a, stream=None, order="C", out=None):
    return a._a.copy() if isinstance(a, ndarray) else _np.asarray(a)


_this = types.ModuleType("cupy")
_g = globals()
_fill(_g, _np, _CREATION_FROM_DATA)
for _name in ("dtype", "finfo", "iinfo", "errstate"):
    _g[_name] = getattr(_np, _name)
for _name in ("result_type", "can_cast", "promote_types", "ndim", "shape", "size", "isscalar"):
    _g[_name] = _lift(getattr(_np, _name), True)
_this = __import__("sys").modules[__name__]

# ----- CuPy's own limits that a GPU run met (CuPy 14.2) ------------------------------------------------------
_CUPY_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _strict(name, check):
    lifted = _g[name]

    def call(*args, **kwargs):
        check(*args, **kwargs)
        return lifted(*args, **kwargs)
    _g[name] = call


def _no_initial(a=None, *args, **kwargs):
    if "initial" in kwargs:
        raise TypeError("max() got an unexpected keyword argument 'initial'")


def _array_condition(condition, *args, **kwargs):
    if not isinstance(condition, ndarray):
        raise AttributeError(f"'{type(condition).__name__}' object has no attribute 'astype'")


def _no_kind(*args, **kwargs):
    if "kind" in kwargs:
        raise TypeError("argpartition() got an unexpected keyword argument 'kind'")


def _three_vectors(a, b, *args, **kwargs):
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors")


def _quantile_method(*args, method="linear", **kwargs):
    if method not in _CUPY_QUANTILE_METHODS:
        raise ValueError(f"'{method}' method is not yet supported. Please use any other method.")


for _name in ("max", "min", "amax", "amin"):
    _strict(_name, _no_initial)
_strict("where", _array_condition)
for _name in ("argpartition", "partition"):
    _strict(_name, _no_kind)
_strict("cross", _three_vectors)
for _name in ("quantile", "percentile", "nanquantile", "nanpercentile"):
    _strict(_name, _quantile_method)
del _g["geomspace"]

linalg = types.ModuleType("cupy.linalg")
_fill(linalg.__dict__, _np.linalg)
fft = types.ModuleType("cupy.fft")
_fill(fft.__dict__, _np.fft)
_stride = types.ModuleType("cupy.lib.stride_tricks")
_stride.as_strided = lambda x, shape=None, strides=None: _wrap(
    _np.lib.stride_tricks.as_strided(_unwrap(x), shape, strides))
_stride.sliding_window_view = _lift(_np.lib.stride_tricks.sliding_window_view)
lib = types.SimpleNamespace(stride_tricks=_stride)


class _Generator:
    """cupy.random.Generator: draws on the 'device' (a wrapped NumPy Generator)."""

    def __init__(self, seed=None):
        self._g = _np.random.default_rng(seed)

    def __getattr__(self, name):
        return _lift(getattr(self._g, name))


random = types.ModuleType("cupy.random")
random.Generator = _Generator
random.default_rng = _Generator

cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None,
                                  runtimeGetVersion=lambda: 13000, driverGetVersion=lambda: 13000,
                                  getDeviceProperties=lambda i: {"name": b"fake GPU", "totalGlobalMem": 1 << 30,
                                                                 "multiProcessorCount": 1}),
    Device=lambda i=0: _Device(), get_current_stream=lambda: _Device())
