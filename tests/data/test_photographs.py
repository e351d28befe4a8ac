"""photo-patches and lfw-faces: scikit-image's bundled photographs as offline RGB and face datasets."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from modelscan_vicious.data.datasets import Dataset, load_dataset, split_dataset
from modelscan_vicious.errors import DataLoadError

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def patches() -> Dataset:
    return load_dataset("photo-patches")


@pytest.fixture(scope="module")
def faces() -> Dataset:
    return load_dataset("lfw-faces")


def _row_keys(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in images}


def test_patches_shape_range_and_balance(patches):
    assert patches.name == "photo-patches" and patches.n_classes == 7
    assert patches.images.shape == (5040, 3, 32, 32) and patches.images.dtype == np.float32
    assert patches.images.min() >= 0.0 and patches.images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(patches.labels), [720] * 7)
    assert patches.groups is not None and len(np.unique(patches.groups)) == 7 * 36


def test_patches_split_keeps_regions_whole_and_balanced(patches):
    splits = split_dataset(patches)
    parts = (splits.train, splits.test, splits.pool)
    assert [len(p.labels) for p in parts] == [2660, 700, 1680]
    for part, per_class in zip(parts, (380, 100, 240)):
        np.testing.assert_array_equal(np.bincount(part.labels), [per_class] * 7)
    groups = [set(p.groups.tolist()) for p in parts]  # type: ignore[union-attr]
    assert not groups[0] & groups[1] and not groups[0] & groups[2] and not groups[1] & groups[2]
    train = _row_keys(splits.train.images)
    assert not train & _row_keys(splits.test.images) and not train & _row_keys(splits.pool.images)


def test_patches_are_deterministic_and_seeded(patches):
    from modelscan_vicious.data.photographs import photo_patches

    again = load_dataset("photo-patches")
    np.testing.assert_array_equal(again.images, patches.images)
    np.testing.assert_array_equal(again.labels, patches.labels)
    other = photo_patches(seed=1, patches_per_block=2)
    assert other.images.shape == (7 * 36 * 2, 3, 32, 32)
    assert not np.array_equal(other.images[:2], patches.images[:2])


def test_faces_shape_range_balance_and_mirrors(faces):
    assert faces.name == "lfw-faces" and faces.n_classes == 2
    assert faces.images.shape == (400, 1, 32, 32) and faces.images.dtype == np.float32
    assert faces.images.min() >= 0.0 and faces.images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(faces.labels), [200, 200])
    np.testing.assert_array_equal(faces.images[200:], faces.images[:200, :, :, ::-1])
    np.testing.assert_array_equal(faces.groups[200:], faces.groups[:200])  # type: ignore[index]
    np.testing.assert_array_equal(load_dataset("lfw-faces").images, faces.images)


def test_faces_split_keeps_an_image_and_its_mirror_together(faces):
    splits = split_dataset(faces)
    parts = (splits.train, splits.test, splits.pool)
    assert [len(p.labels) for p in parts] == [220, 60, 120]
    assert [np.bincount(p.labels).tolist() for p in parts] == [[110, 110], [30, 30], [60, 60]]
    train = _row_keys(splits.train.images) | _row_keys(splits.train.images[..., ::-1].copy())
    assert not train & _row_keys(splits.test.images) and not train & _row_keys(splits.pool.images)


def test_missing_scikit_image_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.data", None)  # makes `import skimage.data` raise ImportError
    with pytest.raises(DataLoadError, match="pip install scikit-image"):
        load_dataset("photo-patches")


def test_unknown_name_lists_the_named_datasets():
    with pytest.raises(DataLoadError, match="'photo-patches', 'lfw-faces', 'mnist-colour', 'mnist-texture'"):
        load_dataset("cifar10")
