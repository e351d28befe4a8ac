"""`mnist-colour` and `mnist-texture`: RGB 3x32x32 variants of the MNIST test set, built with a fixed seed.

Both take 500 images of each digit (5,000 in all; train 2,750 / test 750 / pool 1,500 with the
project's split) from the MNIST test set in IDX form, pad them from 28 to 32 pixels and paint them:
- mnist-colour: strokes in one random colour over a background in another, drawn so that their
  luminances differ by at least 0.35 (the digit stays readable in greyscale too);
- mnist-texture: strokes in a random colour over a random 32x32 crop of scikit-image's bundled
  photographs (see `photographs`), the colour's luminance at least 0.35 away from the crop's mean.
The digits never repeat across splits; the texture crops are drawn from the same seven photographs
for every split.

Where MNIST is read from: `mnist-colour:PATH` (an IDX images file or the folder holding
t10k-images-idx3-ubyte.gz), else $MODELSCAN_VICIOUS_MNIST, else ../shared/datasets/mnist.

Licence: MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges) is available under the terms
of the Creative Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0); so are these variants.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from modelscan_vicious.data.datasets import Dataset
from modelscan_vicious.data.idx import read_idx
from modelscan_vicious.errors import DataLoadError

MNIST_ENV = "MODELSCAN_VICIOUS_MNIST"
DEFAULT_MNIST = Path("../shared/datasets/mnist")
MNIST_IMAGES = "t10k-images-idx3-ubyte.gz"
PER_CLASS = 500
SIDE = 32
MIN_CONTRAST = 0.35  # luminance difference between strokes and background
VARIANTS_SEED = 20260102
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def mnist_images_path(location: str | None) -> Path:
    """The MNIST IDX images file: the given path (file or folder), $MODELSCAN_VICIOUS_MNIST, or the default."""
    path = Path(location or os.environ.get(MNIST_ENV) or DEFAULT_MNIST)
    if path.is_dir():
        path = path / MNIST_IMAGES
    if not path.is_file():
        raise DataLoadError(
            f"{path}: MNIST images not found; give mnist-colour:PATH (an IDX images file or its folder) "
            f"or set {MNIST_ENV}"
        )
    return path


def mnist_colour(location: str | None = None, *, seed: int = VARIANTS_SEED, per_class: int = PER_CLASS) -> Dataset:
    """(10 x per_class, 3, 32, 32) digits in one random colour over another."""
    strokes, labels = _balanced_digits(location, seed, per_class)
    rng = np.random.default_rng(seed + 1)
    background = _contrasting_colours(rng.random((len(labels), 3), dtype=np.float32), rng)
    foreground = _contrasting_colours(background, rng)
    images = _paint(strokes, foreground, background[:, :, None, None] * np.ones((1, 1, SIDE, SIDE), np.float32))
    return Dataset("mnist-colour", images, labels, 10)


def mnist_texture(location: str | None = None, *, seed: int = VARIANTS_SEED, per_class: int = PER_CLASS) -> Dataset:
    """(10 x per_class, 3, 32, 32) digits in a random colour over crops of the bundled photographs."""
    from modelscan_vicious.data.photographs import random_photo_crops

    strokes, labels = _balanced_digits(location, seed, per_class)
    rng = np.random.default_rng(seed + 2)
    textures = random_photo_crops(len(labels), SIDE, rng)
    foreground = _contrasting_colours(textures.mean(axis=(2, 3)), rng)
    return Dataset("mnist-texture", _paint(strokes, foreground, textures), labels, 10)


def _balanced_digits(location: str | None, seed: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """per_class seeded digits of each class as (N, 1, 32, 32) stroke masks in [0, 1], in a seeded order."""
    path = mnist_images_path(location)
    labels_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if labels_path == path or not labels_path.is_file():
        raise DataLoadError(f"{path}: MNIST labels file (*labels-idx1*) not found beside the images")
    images, labels = read_idx(path), read_idx(labels_path).astype(np.int64)
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        if len(members) < per_class:
            raise DataLoadError(f"{path}: only {len(members)} images of digit {digit}, need {per_class}")
        chosen.append(rng.choice(members, per_class, replace=False))
    order = rng.permutation(np.concatenate(chosen))
    pad = (SIDE - images.shape[1]) // 2
    strokes = np.pad(images[order].astype(np.float32) / 255.0, ((0, 0), (pad, pad), (pad, pad)))
    return strokes[:, None], labels[order]


def _contrasting_colours(reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random RGB colour per row of `reference` whose luminance differs from it by MIN_CONTRAST or more."""
    colours = rng.random(reference.shape, dtype=np.float32)
    for _ in range(1000):
        bad = np.abs((colours - reference) @ _LUMA) < MIN_CONTRAST
        if not bad.any():
            return colours
        colours[bad] = rng.random((int(bad.sum()), 3), dtype=np.float32)
    raise AssertionError("no contrasting colour found")  # unreachable: near-black or near-white always qualifies


def _paint(strokes: np.ndarray, foreground: np.ndarray, background: np.ndarray) -> np.ndarray:
    images = background * (1 - strokes) + foreground[:, :, None, None] * strokes
    return np.ascontiguousarray(images.clip(0, 1), dtype=np.float32)
