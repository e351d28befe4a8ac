"""Labelled datasets for training fixtures: scikit-learn's digits, MNIST-style IDX files, or an .npz."""

from __future__ import annotations

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

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, index: np.ndarray) -> Dataset:
        return Dataset(self.name, self.images[index], self.labels[index], self.n_classes)


@dataclass(frozen=True)
class Splits:
    train: Dataset  # fixtures train on this
    test: Dataset  # fixture accuracy and decoder quality are measured here
    pool: Dataset  # never seen in training: labelled CSVs and auxiliary data for scans come from here


def load_dataset(spec: str) -> Dataset:
    """`digits`, an IDX images file (labels file found beside it), or an .npz with arrays x and y."""
    if spec == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = (bunch.images / 16.0).astype(np.float32)[:, None]
        return Dataset("digits", images, bunch.target.astype(np.int64), 10)
    path = Path(spec)
    if path.suffix == ".npz":
        return _from_npz(path)
    if "idx3" in path.name:
        return _from_idx(path)
    raise DataLoadError(f"{spec}: dataset must be 'digits', an IDX images file (*idx3*) or an .npz with x and y")


def split_dataset(dataset: Dataset, *, train: float = 0.55, test: float = 0.15) -> Splits:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(dataset.labels))
    n_train, n_test = int(train * len(order)), int(test * len(order))
    return Splits(
        train=dataset.subset(order[:n_train]),
        test=dataset.subset(order[n_train : n_train + n_test]),
        pool=dataset.subset(order[n_train + n_test :]),
    )


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
