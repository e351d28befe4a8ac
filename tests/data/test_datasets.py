"""Training datasets (digits, IDX, .npz) and their fixed train / test / pool split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.data.datasets import Dataset, load_dataset, split_dataset
from modelscan_vicious.data.idx import write_idx
from modelscan_vicious.errors import DataLoadError


def _load_error(spec: str | Path) -> str:
    with pytest.raises(DataLoadError) as err:
        load_dataset(str(spec))
    message = str(err.value)
    assert "\n" not in message and str(spec) in message
    return message


def _indexed_dataset(n: int) -> Dataset:
    """Each image holds its own row number, so split membership can be read back from the pixels."""
    images = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), np.float32)
    return Dataset("indexed", images, np.arange(n, dtype=np.int64) % 3, 3)


def _rows(dataset: Dataset) -> np.ndarray:
    return dataset.images[:, 0, 0, 0].astype(np.int64)


# ---------------------------------------------------------------------------------------------
# digits and the split


def test_digits():
    digits = load_dataset("digits")
    assert digits.name == "digits" and digits.n_classes == 10
    assert digits.images.shape == (1797, 1, 8, 8) and digits.images.dtype == np.float32
    assert digits.input_shape == (1, 8, 8)
    assert digits.images.min() == 0.0 and digits.images.max() == 1.0
    assert digits.labels.dtype == np.int64 and set(np.unique(digits.labels)) == set(range(10))


def test_session_splits_sizes(digits_splits):
    assert (len(digits_splits.train.labels), len(digits_splits.test.labels), len(digits_splits.pool.labels)) == (
        988,
        269,
        540,
    )


def test_split_is_a_disjoint_cover():
    splits = split_dataset(_indexed_dataset(1000))
    train, test, pool = _rows(splits.train), _rows(splits.test), _rows(splits.pool)
    assert (len(train), len(test), len(pool)) == (550, 150, 300)
    assert not set(train) & set(test) and not set(train) & set(pool) and not set(test) & set(pool)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test, pool])), np.arange(1000))
    np.testing.assert_array_equal(splits.train.labels, train % 3)  # labels travel with their images


def test_split_is_deterministic_and_ignores_global_seed():
    dataset = _indexed_dataset(200)
    np.random.seed(1)
    first = split_dataset(dataset)
    np.random.seed(2)
    second = split_dataset(dataset)
    for a, b in [(first.train, second.train), (first.test, second.test), (first.pool, second.pool)]:
        np.testing.assert_array_equal(_rows(a), _rows(b))
    assert not np.array_equal(_rows(first.train), np.arange(len(first.train.labels)))  # shuffled


def test_split_fractions():
    splits = split_dataset(_indexed_dataset(100), train=0.5, test=0.2)
    assert (len(splits.train.labels), len(splits.test.labels), len(splits.pool.labels)) == (50, 20, 30)


def test_unknown_spec():
    assert "must be 'digits'" in _load_error("mnist-please")


# ---------------------------------------------------------------------------------------------
# .npz


def test_npz_dataset(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(6, 8, 8), dtype=np.uint8)
    y = np.array([0, 1, 2, 3, 4, 1])
    np.savez(tmp_path / "shapes.npz", x=x, y=y)
    dataset = load_dataset(str(tmp_path / "shapes.npz"))
    assert dataset.name == "shapes" and dataset.n_classes == 5
    assert dataset.input_shape == (1, 8, 8)
    np.testing.assert_allclose(dataset.images[:, 0], x / 255.0, atol=1e-7)
    np.testing.assert_array_equal(dataset.labels, y)


def test_npz_dataset_with_channels(tmp_path):
    x = np.random.default_rng(0).random((4, 3, 6, 6)).astype(np.float32)
    np.savez(tmp_path / "rgb.npz", x=x, y=np.array([0, 1, 0, 1]))
    dataset = load_dataset(str(tmp_path / "rgb.npz"))
    assert dataset.input_shape == (3, 6, 6)
    np.testing.assert_allclose(dataset.images, x, atol=1e-7)


def test_npz_without_labels(tmp_path):
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((2, 8, 8), np.uint8))
    assert "needs arrays 'x' and 'y'" in _load_error(tmp_path / "nolabels.npz")


def test_npz_with_mismatched_lengths(tmp_path):
    np.savez(tmp_path / "short.npz", x=np.zeros((5, 8, 8), np.uint8), y=np.arange(3))
    assert "5 images in 'x' but 3 labels in 'y'" in _load_error(tmp_path / "short.npz")


def test_npz_with_pickled_objects_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([object()], dtype=object), y=np.array([0]))
    assert "unreadable .npz" in _load_error(tmp_path / "obj.npz")


def test_bare_npy_under_npz_name(tmp_path):
    path = tmp_path / "array.npz"
    with path.open("wb") as fh:
        np.save(fh, np.zeros((2, 8, 8), np.uint8))
    assert "not an .npz archive" in _load_error(path)


# ---------------------------------------------------------------------------------------------
# IDX


def _write_mnist_like(folder: Path, n_images: int = 6, n_labels: int = 6) -> Path:
    rng = np.random.default_rng(0)
    images = folder / "train-images-idx3-ubyte.gz"
    write_idx(images, rng.integers(0, 256, size=(n_images, 8, 8), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n_labels, dtype=np.uint8) % 4)
    return images


def test_idx_dataset(tmp_path):
    dataset = load_dataset(str(_write_mnist_like(tmp_path)))
    assert dataset.name == "train" and dataset.n_classes == 4
    assert dataset.images.shape == (6, 1, 8, 8) and dataset.images.max() <= 1.0
    np.testing.assert_array_equal(dataset.labels, [0, 1, 2, 3, 0, 1])


def test_idx_dataset_without_labels_file(tmp_path):
    images = _write_mnist_like(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    assert "train-labels-idx1-ubyte.gz not found" in _load_error(images)


def test_idx_dataset_count_mismatch(tmp_path):
    images = _write_mnist_like(tmp_path, n_images=6, n_labels=5)
    assert "6 images but 5 labels" in _load_error(images)


def test_idx_images_file_must_say_images(tmp_path):
    path = tmp_path / "digits-idx3.gz"
    write_idx(path, np.zeros((3, 8, 8), np.uint8))
    assert "*images-idx3*" in _load_error(path)
