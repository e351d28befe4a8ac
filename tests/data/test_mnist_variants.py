"""mnist-colour and mnist-texture: RGB variants of MNIST-style IDX files, here built from a synthetic one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.data.datasets import load_dataset, split_dataset
from modelscan_vicious.data.idx import write_idx
from modelscan_vicious.data.mnist_variants import MIN_CONTRAST, mnist_colour, mnist_images_path, mnist_texture
from modelscan_vicious.errors import DataLoadError

PER_CLASS = 12
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake MNIST test set: 15 images per digit, each a distinct random pattern."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 15)
    images = (rng.random((len(labels), 28, 28)) > 0.7).astype(np.uint8) * 255
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    return folder


def test_colour_shape_range_balance_and_contrast(mnist_dir):
    data = mnist_colour(str(mnist_dir), per_class=PER_CLASS)
    assert data.name == "mnist-colour" and data.n_classes == 10 and data.groups is None
    assert data.images.shape == (10 * PER_CLASS, 3, 32, 32) and data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(data.labels), [PER_CLASS] * 10)
    # the 2-pixel padding is background; strokes (the brightest/darkest pixels) differ from it in luminance
    luminance = np.einsum("nchw,c->nhw", data.images, _LUMA)
    background = luminance[:, 0, 0]
    assert np.allclose(luminance[:, :2, :], background[:, None, None], atol=1e-5)
    assert (np.abs(luminance - background[:, None, None]).max(axis=(1, 2)) >= MIN_CONTRAST - 1e-5).all()


def test_variants_are_deterministic_and_seeded(mnist_dir):
    first, second = (mnist_colour(str(mnist_dir), per_class=PER_CLASS) for _ in range(2))
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert not np.array_equal(mnist_colour(str(mnist_dir), per_class=PER_CLASS, seed=1).images, first.images)


def test_split_has_no_overlap(mnist_dir):
    splits = split_dataset(mnist_colour(str(mnist_dir), per_class=PER_CLASS))
    keys = [{row.tobytes() for row in part.images} for part in (splits.train, splits.test, splits.pool)]
    assert [len(k) for k in keys] == [66, 18, 36]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]


def test_texture_shape_range_and_balance(mnist_dir):
    pytest.importorskip("skimage")
    data = mnist_texture(str(mnist_dir), per_class=PER_CLASS)
    assert data.name == "mnist-texture" and data.images.shape == (10 * PER_CLASS, 3, 32, 32)
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(data.labels), [PER_CLASS] * 10)
    assert data.images[:, :, :2, :].std(axis=(2, 3)).mean() > 0.01  # a photograph, not a flat colour


def test_location_forms(mnist_dir, monkeypatch):
    images = mnist_dir / "t10k-images-idx3-ubyte.gz"
    assert mnist_images_path(str(mnist_dir)) == images
    assert mnist_images_path(str(images)) == images
    monkeypatch.setenv("MODELSCAN_VICIOUS_MNIST", str(mnist_dir))
    assert mnist_images_path(None) == images
    with pytest.raises(DataLoadError, match="only 15 images of digit 0, need 500"):
        load_dataset(f"mnist-colour:{mnist_dir}")  # the named dataset takes 500 per digit


def test_missing_mnist_says_where_to_point(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELSCAN_VICIOUS_MNIST", raising=False)
    with pytest.raises(DataLoadError, match="MNIST images not found; give mnist-colour:PATH"):
        load_dataset(f"mnist-texture:{tmp_path}")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataLoadError, match="labels file"):
        load_dataset(f"mnist-colour:{tmp_path}")
