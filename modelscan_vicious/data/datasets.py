"""Labelled datasets for training fixtures: named ones that install offline, MNIST-style IDX files, or an .npz.

Named datasets (NAMED_DATASETS): `digits` (scikit-learn), `photo-patches`, `lfw-faces` and
`mnist-texture` (scikit-image's bundled images; see photographs.py and faces.py for their licences)
and `mnist-colour` (the MNIST test set, see mnist_variants.py). `mnist-colour:PATH` and
`mnist-texture:PATH` name the MNIST files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelscan_vicious.data.idx import read_idx
from modelscan_vicious.errors import DataLoadError

# Fixed split seed: every fixture of a dataset shares the same train / test / scanner-pool rows,
# so the labelled CSVs and auxiliary files shipped with fixtures never overlap their training data.
SPLIT_SEED = 20221208


@dataclass(frozen=True)
class Dataset:
    name: str
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64
    n_classes: int
    # Images sharing a group id (overlapping patches of one region, an image and its mirror) are kept
    # in one split, so no part of a test or pool image was trained on; a group holds one class only.
    # None: every image stands alone.
    groups: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, index: np.ndarray) -> Dataset:
        groups = None if self.groups is None else self.groups[index]
        return Dataset(self.name, self.images[index], self.labels[index], self.n_classes, groups)


@dataclass(frozen=True)
class Splits:
    train: Dataset  # fixtures train on this
    test: Dataset  # fixture accuracy and decoder quality are measured here
    pool: Dataset  # never seen in training: labelled CSVs and auxiliary data for scans come from here


def _digits(location: str | None) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]
    return Dataset("digits", images, bunch.target.astype(np.int64), 10)


def _photo_patches(location: str | None) -> Dataset:
    from modelscan_vicious.data.photographs import photo_patches

    return photo_patches()


def _lfw_faces(location: str | None) -> Dataset:
    from modelscan_vicious.data.faces import lfw_faces

    return lfw_faces()


def _mnist_colour(location: str | None) -> Dataset:
    from modelscan_vicious.data.mnist_variants import mnist_colour

    return mnist_colour(location)


def _mnist_texture(location: str | None) -> Dataset:
    from modelscan_vicious.data.mnist_variants import mnist_texture

    return mnist_texture(location)


# name -> builder taking the optional location after "name:"; each builds the same images every time.
NAMED_DATASETS: dict[str, Callable[[str | None], Dataset]] = {
    "digits": _digits,
    "photo-patches": _photo_patches,
    "lfw-faces": _lfw_faces,
    "mnist-colour": _mnist_colour,
    "mnist-texture": _mnist_texture,
}
_LOCATED = ("mnist-colour", "mnist-texture")  # the named datasets that read files (name:PATH)


def load_dataset(spec: str) -> Dataset:
    """A name from NAMED_DATASETS (`mnist-colour:PATH`), an IDX images file (labels beside it), or an .npz."""
    name, _, location = spec.partition(":")
    if spec in NAMED_DATASETS or (name in _LOCATED and location):
        return NAMED_DATASETS[name](location or None)
    path = Path(spec)
    if path.suffix == ".npz":
        return _from_npz(path)
    if "idx3" in path.name:
        return _from_idx(path)
    raise DataLoadError(
        f"{spec}: dataset must be {', '.join(repr(n) for n in NAMED_DATASETS)} (':PATH' after an mnist- name), "
        "an IDX images file (*idx3*) or an .npz with x and y"
    )


def split_dataset(dataset: Dataset, *, train: float = 0.55, test: float = 0.15) -> Splits:
    """Seeded train / test / pool split by image, or by group within each class when the dataset has groups."""
    if dataset.groups is not None:
        return _split_groups(dataset, train, test)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(dataset.labels))
    n_train, n_test = int(train * len(order)), int(test * len(order))
    return Splits(
        train=dataset.subset(order[:n_train]),
        test=dataset.subset(order[n_train : n_train + n_test]),
        pool=dataset.subset(order[n_train + n_test :]),
    )


def _split_groups(dataset: Dataset, train: float, test: float) -> Splits:
    """Whole groups go to one split; each class's groups are divided in the given fractions."""
    assert dataset.groups is not None
    rng = np.random.default_rng(SPLIT_SEED)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(dataset.labels):
        groups = rng.permutation(np.unique(dataset.groups[dataset.labels == label]))
        n_train, n_test = int(train * len(groups)), int(test * len(groups))
        for part, chosen in zip(
            parts, (groups[:n_train], groups[n_train : n_train + n_test], groups[n_train + n_test :])
        ):
            part.append(np.flatnonzero(np.isin(dataset.groups, chosen)))
    # Shuffle rows within each split so that batches, labelled CSVs and aux files mix classes.
    train_rows, test_rows, pool_rows = (rng.permutation(np.concatenate(part)) for part in parts)
    return Splits(dataset.subset(train_rows), dataset.subset(test_rows), dataset.subset(pool_rows))


def _from_npz(path: Path) -> Dataset:
    from modelscan_vicious.data.images import array_to_images

    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy array under an .npz name
            raise DataLoadError(f"{path}: not an .npz archive; save with np.savez(path, x=images, y=labels)")
        with archive:
            x, y = archive["x"], archive["y"]
    except KeyError as err:
        raise DataLoadError(f"{path}: a training .npz needs arrays 'x' and 'y' ({err} missing)") from err
    except (OSError, ValueError) as err:
        raise DataLoadError(f"{path}: unreadable .npz ({err})") from err
    if len(x) != len(y):
        raise DataLoadError(f"{path}: {len(x)} images in 'x' but {len(y)} labels in 'y'")
    shape = x.shape[1:] if x.ndim == 4 else (1, *x.shape[1:])
    images = array_to_images(x, shape, str(path))
    return Dataset(path.stem, images, y.astype(np.int64), int(y.max()) + 1)


def _from_idx(path: Path) -> Dataset:
    labels_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if labels_path == path:  # without 'images-idx3' in the name the images would be read as their own labels
        raise DataLoadError(f"{path}: an IDX images file must be named *images-idx3* (labels: *labels-idx1*)")
    if not labels_path.is_file():
        raise DataLoadError(f"{path}: labels file {labels_path.name} not found beside the images")
    images = read_idx(path).astype(np.float32)[:, None] / 255.0
    labels = read_idx(labels_path).astype(np.int64)
    if len(images) != len(labels):
        raise DataLoadError(f"{path}: {len(images)} images but {len(labels)} labels")
    return Dataset(path.name.split("-")[0], images, labels, int(labels.max()) + 1)
