"""Atomic files: checkpoints (one ``.npz`` holding arrays and a JSON document of everything else), JSON
documents and whole-line appends, each one file operation that a crash leaves done or not done.

``atomic_write`` writes to a temporary file in the same directory, flushes it to disk and renames it over
the target (``os.replace`` is atomic on POSIX and Windows), then flushes the directory entry: a crash
mid-write leaves the previous file intact and at most a ``*.tmp`` file beside it, which the run directory
removes on resume (``dualgrad.rundir``). Files get the usual mode (0666 less the umask, 0644 for most
users). Random-number generators are stored as their ``bit_generator.state`` so that a resumed run draws
exactly the numbers the uninterrupted run would.

Fault injection: every finished file operation calls ``file_op``; with the environment variable
``DUALGRAD_CRASH_AFTER=N`` the process kills itself (SIGKILL: no cleanup, no ``finally``) right after the
N-th one. The tests use it to crash a run after each operation of an epoch commit in turn.
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import sys
from collections.abc import Callable

import numpy as np

from .backend import to_numpy

CRASH_AFTER = "DUALGRAD_CRASH_AFTER"
_operations = 0


def file_op(what: str) -> None:
    """Count a finished file operation (see the module docstring: the ``DUALGRAD_CRASH_AFTER`` hook)."""
    global _operations
    _operations += 1
    limit = os.environ.get(CRASH_AFTER)
    if limit and _operations == int(limit):
        sys.stderr.write(f"{CRASH_AFTER}={limit}: killing this process after file operation {limit}: {what}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def sync_directory(directory: pathlib.Path) -> None:
    """Flush a directory's entries (a rename, a new file) to disk; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[io.BufferedWriter], None]) -> None:
    """Create or replace ``path`` with what ``write(fh)`` writes, atomically (see the module docstring)."""
    path = pathlib.Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        file_op(f"wrote {tmp.name}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
    file_op(f"renamed {tmp.name} to {path.name}")


def write_json(path: str | os.PathLike, document) -> None:
    """A JSON document, atomically."""
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line with a single write (a crash leaves it whole or absent; a torn line from a power
    loss is repaired by the run directory on resume)."""
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(line if line.endswith("\n") else line + "\n")
    file_op(f"appended a line to {pathlib.Path(path).name}")


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` (flat names, any '/' allowed) and the JSON-serialisable ``meta`` atomically."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {f"a/{name}": to_numpy(a) for name, a in arrays.items()}
    payload["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    atomic_write(path, lambda fh: np.savez(fh, **payload))


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


def load_meta(path: str | os.PathLike) -> dict:
    """Only the JSON document of a checkpoint (the arrays are not read)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return json.loads(bytes(f["meta.json"]).decode())
    except Exception as e:
        raise ValueError(f"{path} is not a readable dualgrad checkpoint ({type(e).__name__}: {e})") from e


def rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def restore_rng(state: dict) -> np.random.Generator:
    """A Generator continuing exactly from a saved ``bit_generator.state``."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
