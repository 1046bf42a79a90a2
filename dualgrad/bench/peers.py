"""Optional peers: PyTorch (torch.func, forward_ad) and JAX. Each is skipped with a note when absent;
dualgrad never depends on them (``pip install ".[bench]"`` installs them)."""
from __future__ import annotations


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return torch


def jax_or_none():
    try:
        import jax
        jax.config.update("jax_platforms", "cpu")
    except (ImportError, RuntimeError):
        return None
    return jax


def versions() -> dict:
    out = {}
    torch, jax = torch_or_none(), jax_or_none()
    out["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)" if torch else "not installed (skipped)"
    out["jax"] = f"{jax.__version__} ({jax.devices()[0].platform})" if jax else "not installed (skipped)"
    return out
