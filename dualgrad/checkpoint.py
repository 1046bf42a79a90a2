"""Atomic checkpoints: one ``.npz`` file holding arrays and a JSON document of everything else.

``save`` writes to a temporary file in the same directory and renames it over the target
(``os.replace`` is atomic on POSIX and Windows), so a crash mid-write never leaves a half-written
checkpoint: the previous one stays intact. Random-number generators are stored as their
``bit_generator.state`` so that a resumed run draws exactly the numbers the uninterrupted run would.
"""
from __future__ import annotations

import json
import os
import pathlib
import tempfile

import numpy as np

from .backend import to_numpy


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` (flat names, any '/' allowed) and the JSON-serialisable ``meta`` atomically."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {f"a/{name}": to_numpy(a) for name, a in arrays.items()}
    payload["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """The ``(arrays, meta)`` written by ``save``; a clear error for a missing or unreadable file."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name[2:]: f[name] for name in f.files if name.startswith("a/")}
            meta = json.loads(bytes(f["meta.json"]).decode())
    except Exception as e:
        raise ValueError(f"{path} is not a readable dualgrad checkpoint ({type(e).__name__}: {e})") from e
    return arrays, meta


def rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def restore_rng(state: dict) -> np.random.Generator:
    """A Generator continuing exactly from a saved ``bit_generator.state``."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
