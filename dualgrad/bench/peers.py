"""Optional peers: PyTorch (torch.func, forward_ad) and JAX. Each is skipped with a note when absent;
dualgrad never depends on them (``pip install ".[bench]"`` installs them).

``device`` is where the peers run: ``"cpu"`` beside dualgrad on NumPy, ``"gpu"`` beside dualgrad on CuPy
(torch on ``cuda``, JAX on its ``cuda`` platform). On the GPU every peer computes in true float32, as
CuPy's GEMMs do by default: TF32 tensor-core arithmetic is switched off in PyTorch (matmul and cuDNN) and
JAX runs its matrix products at ``"highest"`` precision, so that the tables compare the same arithmetic.
"""
from __future__ import annotations

import os

from ..backend import move


def device_for(backend: str) -> str:
    """Where the peers run beside dualgrad on ``backend``: "cpu" for NumPy, "gpu" for CuPy."""
    return "cpu" if backend == "numpy" else "gpu"


def torch_or_none(device: str = "cpu"):
    try:
        import torch
    except ImportError:
        return None
    if device == "gpu":
        if not torch.cuda.is_available():
            return None
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        torch.set_num_threads(max(1, torch.get_num_threads()))
    return torch


def torch_device(device: str) -> str:
    return "cuda" if device == "gpu" else "cpu"


def jax_or_none(device: str = "cpu"):
    """JAX on ``device``, or None. JAX fixes its platform at first use: a process times its JAX peers on
    one device only (the bench command's processes each do)."""
    if device == "gpu":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")    # share the GPU with CuPy and torch
    try:
        import jax
        jax.config.update("jax_platforms", "cuda" if device == "gpu" else "cpu")
        if device == "gpu":
            jax.config.update("jax_default_matmul_precision", "highest")
        jax.devices()
    except Exception:              # not installed, or no backend for the platform (JAX raises several kinds)
        return None
    return jax


def to_host(value):
    """A NumPy array of a method's result, whatever its library and device (for checking, not timing)."""
    import numpy as np

    from ..backend import to_numpy
    if hasattr(value, "detach"):                                  # a torch tensor
        return value.detach().cpu().numpy()
    if type(value).__module__.startswith("jax"):
        return np.asarray(value)
    return to_numpy(value)


def to_backend(xp, values) -> list:
    """The host arrays ``values`` (arrays, lists of arrays, other values kept) as arrays of ``xp``."""
    def put(v):
        if isinstance(v, list):
            return [put(a) for a in v]
        return move(v, xp) if hasattr(v, "dtype") else v
    return [put(v) for v in values]


def versions(device: str = "cpu") -> dict:
    out = {}
    torch, jax = torch_or_none(device), jax_or_none(device)
    if torch is None:
        out["torch"] = "not installed (skipped)" if device == "cpu" else "not installed or no CUDA build (skipped)"
    elif device == "gpu":
        out["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})"
    else:
        out["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
    flags = f"; XLA_FLAGS={os.environ['XLA_FLAGS']}" if jax and os.environ.get("XLA_FLAGS") else ""
    out["jax"] = f"{jax.__version__} ({jax.devices()[0].platform}{flags})" if jax else "not installed (skipped)"
    return out
