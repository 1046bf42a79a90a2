"""The run directory of a training run (``train.fit(out=...)``, ``dualgrad train --out``): a small
transactional store that a crash, a kill, an interrupt or a second run never leaves lying.

    run = RunDirectory.open("runs/x", config, fields, resume=False, overwrite=False)
    committed = run.last_commit()              # (arrays, meta) to restore from, or None
    run.commit(arrays, meta, row, improved)    # one epoch; meta["rows"] holds every row so far
    run.diagnostic(row)                        # a diagnostics row of the epoch in progress
    run.close(summary)                         # summary.json, then the lock is released

Files (docs/training.md, "The run directory"):

- ``run.lock``: locked (``fcntl.flock``) for the life of the run; holds the pid of the holder. The kernel
  releases the lock when the holder dies, so a lock left by a killed run is no obstacle.
- ``config.json``: everything that determines the run; ``--resume`` compares against it.
- ``checkpoint.npz``: the commit record. The state after the last committed epoch, with every metrics row,
  the epoch of the best validation loss and the number of committed diagnostics rows.
- ``best.npz``: the checkpoint of the epoch with the best validation loss (a hard link to it).
- ``metrics.jsonl``, ``metrics.csv``: one row per committed epoch; ``diagnostics.jsonl``: diagnostics rows.
- ``summary.json``: how the run ended (finished, diverged, interrupted, error); absent while it runs.

The commit of epoch e, in this order: (1) checkpoint.npz written to a temporary file, flushed to disk and
renamed over the old one, the commit point; (2) best.npz linked to it if the epoch improved; (3) the
epoch's row appended to metrics.jsonl and metrics.csv. Diagnostics rows are appended during the epoch,
before its commit. A crash before (1) leaves epoch e − 1 committed, a crash after it epoch e; ``repair``
(run when a run is resumed, interrupted or fails) then makes every other file agree with the checkpoint:
metrics files rewritten from its rows, diagnostics cut to the committed count, best.npz relinked,
temporary files removed. So the metrics files hold exactly the committed epochs, each once, in order.
SIGINT and SIGTERM wait while a commit runs.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pathlib
import shutil
import signal

from . import checkpoint
from .errors import ConfigMismatchError, RunDirectoryError, RunLockedError

try:
    import fcntl
except ImportError:                                   # Windows: no advisory locks; runs are not locked
    fcntl = None

LOCK = "run.lock"
CONFIG = "config.json"
CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"
METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
DIAGNOSTICS = "diagnostics.jsonl"
SUMMARY = "summary.json"
#: The files of a run: a directory holding any of them is in use; --overwrite deletes them (and only them).
RUN_FILES = (CONFIG, CHECKPOINT, BEST, METRICS_JSONL, METRICS_CSV, DIAGNOSTICS, SUMMARY, "curves.png")

#: config.json keys that a resumed run may change: budgets and stopping rules that leave the trajectory as
#: it was, and where the data lives. The number of epochs only with a constant learning-rate schedule
#: (the others are laid out over the total number of steps).
RESUMABLE = frozenset({"training.epochs", "training.patience", "training.min_delta", "training.diagnostics_every",
                       "training.eval_batch_size", "data.data_dir"})
#: Recorded, never compared: the dualgrad version that wrote the configuration, where the lr came from.
RECORDED_ONLY = frozenset({"dualgrad_version", "training.lr_source"})
#: Settings added to config.json after its first version, with the value that a run written before had.
ADDED_LATER = {"training.backend": "numpy"}


# ----- configurations ---------------------------------------------------------------------------------------
def flatten(document: dict, prefix: str = "") -> dict:
    """{"training": {"k": 4}} -> {"training.k": 4}, after a JSON round trip (tuples become lists); an empty
    section has no keys."""
    flat = {}
    for key, value in json.loads(json.dumps(document)).items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_ABSENT = "(absent)"


def differences(stored: dict, wanted: dict, *, partial: bool = False) -> list[tuple[str, object, object]]:
    """``(key, stored value, wanted value)`` for every dotted config key that differs and may not change on
    resume (``RESUMABLE``, ``RECORDED_ONLY``). ``partial``: compare only the keys ``wanted`` has. A setting that
    an older config.json lacks (``ADDED_LATER``) counts as the value such a run had."""
    a, b = flatten(stored), flatten(wanted)
    free = RESUMABLE | RECORDED_ONLY
    if a.get("training.lr_schedule", "constant") != "constant":
        free = free - {"training.epochs"}
    a = {key: value for key, value in ADDED_LATER.items() if key in b} | a
    keys = b.keys() if partial else a.keys() | b.keys()
    return [(key, a.get(key, _ABSENT), b.get(key, _ABSENT)) for key in sorted(keys)
            if key not in free and a.get(key, _ABSENT) != b.get(key, _ABSENT)]


def mismatch_error(path, diffs, label=str) -> ConfigMismatchError:
    """The error for a resume with another configuration; ``label`` names a key (a flag, for the CLI)."""
    def show(value):
        return "absent" if value is _ABSENT else json.dumps(value)
    listing = "; ".join(f"{label(key)}: {show(old)} in config.json, {show(new)} now" for key, old, new in diffs)
    return ConfigMismatchError(
        f"{path} holds a run with another configuration ({listing}). Resume it with the settings of its "
        "config.json, or start a new run in another directory (or overwrite this one)", diffs)


def read_config(path) -> dict:
    """The configuration in ``path/config.json``; RunDirectoryError if there is none or it is unreadable."""
    file = pathlib.Path(path) / CONFIG
    if not file.is_file():
        older = " (it has a checkpoint but no config.json: written by an older dualgrad)" if (
            pathlib.Path(path) / CHECKPOINT).exists() else ""
        raise RunDirectoryError(f"nothing to resume in {path}: it holds no {CONFIG}{older}; start the run "
                                "without --resume")
    try:
        config = json.loads(file.read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise RunDirectoryError(f"{file} is not readable ({e}); start the run again with --overwrite") from None
    return config


def committed_epoch(path) -> int | None:
    """The epoch of ``path/checkpoint.npz`` (None without one)."""
    file = pathlib.Path(path) / CHECKPOINT
    if not file.exists():
        return None
    try:
        return int(checkpoint.load_meta(file)["epoch"])
    except (ValueError, KeyError) as e:
        raise RunDirectoryError(f"{file} is not readable ({e}); start the run again with --overwrite") from None


# ----- the lock -------------------------------------------------------------------------------------------
def lock_holder(path) -> str | None:
    """The pid (as text) of the process that holds ``path/run.lock``, or None if nobody does."""
    file = pathlib.Path(path) / LOCK
    if fcntl is None or not file.is_file():
        return None
    fd = os.open(file, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(fd)
    finally:
        os.close(fd)                                   # closing releases a lock we got
    return None


def _pid_in(fd) -> str:
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    return text or "unknown: it is starting"


def _locked(path, pid) -> RunLockedError:
    return RunLockedError(f"{path} is in use by another dualgrad run (pid {pid}); wait for it to end or stop it, "
                          "or choose another output directory")


class _Lock:
    def __init__(self, directory: pathlib.Path):
        self.directory, self.fd = directory, None

    def acquire(self) -> None:
        if fcntl is None:
            return
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise _locked(self.directory, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        checkpoint.file_op(f"locked {LOCK}")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)                          # closing the descriptor releases the flock
            self.fd = None


# ----- checks that write nothing -------------------------------------------------------------------------------
def check(path, *, resume: bool = False, overwrite: bool = False, config: dict | None = None) -> dict | None:
    """Whether a run may start (or, with ``resume``, continue) in ``path``, writing nothing: raises
    RunDirectoryError (RunLockedError, ConfigMismatchError) saying what to do. With ``resume`` and the run's
    ``config``, also compares it with config.json. Returns the stored configuration on resume."""
    path = pathlib.Path(path)
    if resume and overwrite:
        raise RunDirectoryError("--resume continues the run in a directory and --overwrite deletes it: choose one")
    if path.exists() and not path.is_dir():
        raise RunDirectoryError(f"{path} exists and is not a directory: the output must be a directory")
    pid = lock_holder(path)
    if pid is not None:
        raise _locked(path, pid)
    return _check_contents(path, resume, overwrite, config)


def _check_contents(path: pathlib.Path, resume: bool, overwrite: bool, config: dict | None) -> dict | None:
    if not resume:
        used = [name for name in RUN_FILES if (path / name).exists()]
        if used and not overwrite:
            raise RunDirectoryError(f"{path} already holds a run ({', '.join(used)}): continue it with --resume, "
                                    "or start over with --overwrite (which deletes those files first)")
        return None
    stored = read_config(path)
    if config is not None:
        diffs = differences(stored, config)
        if diffs:
            raise mismatch_error(path, diffs)
        epoch, epochs = committed_epoch(path), config.get("training", {}).get("epochs")
        if epoch is not None and epochs is not None and epochs < epoch:
            raise RunDirectoryError(f"{path} has committed {epoch} epochs already: resume it with epochs >= "
                                    f"{epoch}, not {epochs}")
    return stored


# ----- the directory --------------------------------------------------------------------------------------
@contextlib.contextmanager
def signals_held():
    """SIGINT and SIGTERM wait until the block has run (an interrupt never splits a commit)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _jsonl(row: dict) -> str:
    return json.dumps(row) + "\n"


def _csv(rows: list[dict], fields: list[str], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


class RunDirectory:
    """An open run directory, locked by this process (see the module docstring)."""

    def __init__(self, path: pathlib.Path, lock: _Lock, fields: list[str]):
        self.path, self._lock, self.fields = path, lock, list(fields)
        self.rows: list[dict] = []                     # the metrics rows of the committed epochs
        self.diagnostic_lines, self._best_epoch = 0, None

    @classmethod
    def open(cls, path, config: dict, fields: list[str], *, resume: bool = False,
             overwrite: bool = False) -> RunDirectory:
        """Lock ``path`` and prepare it: a fresh run needs an unused directory (``overwrite`` deletes the
        files of an earlier run first); ``resume`` needs a config.json equal to ``config`` but for
        ``RESUMABLE`` keys, and repairs the directory to its last commit. Every refusal comes before any
        file is changed."""
        path = pathlib.Path(path)
        check(path, resume=resume, overwrite=overwrite, config=config)
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunDirectoryError(f"cannot create the output directory {path}: {e.strerror}") from None
        lock = _Lock(path)
        try:
            lock.acquire()
        except RunLockedError:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise
        run = cls(path, lock, fields)
        try:
            stored = _check_contents(path, resume, overwrite, config)   # again: another run may have been quicker
            if overwrite:
                run._delete(RUN_FILES)
            run.repair()
            if resume:
                run._delete([SUMMARY])
            if not resume or flatten(config) != flatten(stored):
                checkpoint.write_json(path / CONFIG, config)
        except BaseException:
            lock.release()
            raise
        return run

    # -- reading ----------------------------------------------------------------------------------------------
    def last_commit(self):
        """``(arrays, meta)`` of the last committed epoch, or None before the first commit."""
        if not (self.path / CHECKPOINT).exists():
            return None
        return checkpoint.load(self.path / CHECKPOINT)

    # -- writing ----------------------------------------------------------------------------------------------
    def commit(self, arrays: dict, meta: dict, row: dict, improved: bool) -> None:
        """Commit one epoch: ``meta["rows"]`` ends with ``row``; ``improved``: the best validation loss so far."""
        best_epoch = row["epoch"] if improved else self._best_epoch
        meta = meta | {"run": {"best_epoch": best_epoch, "diagnostic_lines": self.diagnostic_lines}}
        with signals_held():
            checkpoint.save(self.path / CHECKPOINT, arrays, meta)
            self.rows, self._best_epoch = list(meta["rows"]), best_epoch
            if improved:
                self._link_best()
            first = len(meta["rows"]) == 1
            checkpoint.append_line(self.path / METRICS_JSONL, _jsonl(row))
            checkpoint.append_line(self.path / METRICS_CSV, _csv([row], self.fields, header=first))

    def diagnostic(self, row: dict) -> None:
        """Append a diagnostics row of the epoch in progress (kept once the epoch commits)."""
        with signals_held():
            checkpoint.append_line(self.path / DIAGNOSTICS, _jsonl(row))
            self.diagnostic_lines += 1

    def repair(self) -> None:
        """Make every file agree with the last commit (the module docstring); a no-op when they do."""
        with signals_held():
            self._delete(sorted(p.name for p in self.path.glob("*.tmp")))
            meta = checkpoint.load_meta(self.path / CHECKPOINT) if (self.path / CHECKPOINT).exists() else {}
            rows = self.rows = list(meta.get("rows", []))
            committed = meta.get("run", {})
            self._best_epoch = committed.get("best_epoch")
            self.diagnostic_lines = committed.get("diagnostic_lines", 0)
            self._rewrite(METRICS_JSONL, "".join(map(_jsonl, rows)))
            self._rewrite(METRICS_CSV, _csv(rows, self.fields, header=True) if rows else "")
            self._rewrite(DIAGNOSTICS, self._committed_diagnostics())
            if not meta:
                self._delete([BEST])
            elif self._best_epoch is not None and self._best_epoch == meta.get("epoch"):
                self._link_best()

    def close(self, summary: dict | None = None) -> None:
        """Write ``summary.json`` (when given) and release the lock."""
        try:
            if summary is not None:
                with signals_held():
                    checkpoint.write_json(self.path / SUMMARY, summary)
        finally:
            self._lock.release()

    # -- helpers ----------------------------------------------------------------------------------------------
    def _link_best(self) -> None:
        """best.npz := checkpoint.npz, atomically: a hard link (no copy) renamed over the old best."""
        best, source = self.path / BEST, self.path / CHECKPOINT
        if best.exists() and os.path.samefile(best, source):
            return
        tmp = self.path / f"{BEST}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:                                 # a file system without hard links
            shutil.copyfile(source, tmp)
        checkpoint.file_op(f"linked {tmp.name}")
        os.replace(tmp, best)
        checkpoint.sync_directory(self.path)
        checkpoint.file_op(f"renamed {tmp.name} to {BEST}")

    def _committed_diagnostics(self) -> str:
        file = self.path / DIAGNOSTICS
        if not file.exists():
            return ""
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        return "".join(line for line in lines[:self.diagnostic_lines] if line.endswith("\n"))

    def _rewrite(self, name: str, text: str) -> None:
        """``name`` := ``text`` (deleted when empty), atomically, unless it holds exactly that already."""
        file = self.path / name
        if not text:
            self._delete([name])
        elif not file.exists() or file.read_text(encoding="utf-8") != text:
            checkpoint.atomic_write(file, lambda fh: fh.write(text.encode()))

    def _delete(self, names) -> None:
        for name in names:
            file = self.path / name
            if file.exists():
                file.unlink()
                checkpoint.file_op(f"deleted {name}")

