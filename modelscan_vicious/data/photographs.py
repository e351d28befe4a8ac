"""`photo-patches`: 32x32 RGB patches of scikit-image's bundled colour photographs; the class is the photograph.

A natural-image classification task that installs offline: every photograph below ships inside the
scikit-image wheel (no pooch download). Each is cropped to a square, resized to 384x384 and cut into
a 6x6 grid of 64x64 blocks; each block gives 20 patches at seeded offsets. Patches of one block
share its group id, and `split_dataset` keeps groups whole, so train, test and the scanner's pool
come from disjoint regions of each photograph (overlapping patches never straddle two splits).

Sizes: 7 classes x 36 blocks x 20 patches = 5,040 images of 3x32x32 (train 2,660 / test 700 /
pool 1,680 with the project's split fractions).

Licences (from scikit-image's own docstrings for each image, version 0.26):
- astronaut (Eileen Collins, NASA Great Images): public domain, no known copyright restrictions.
- chelsea (the cat), coffee: CC0 by the photographers (Stefan van der Walt, Rachel Michetti).
- rocket (SpaceX): released into the public domain by SpaceX.
- hubble_deep_field (NASA/HubbleSite): public domain.
- immunohistochemistry (Center for Microscopy And Molecular Imaging): no known copyright restrictions.
- retina (Mikael Häggström, Wikimedia Commons): CC0 1.0.
The stereo motorcycle photographs (Middlebury 2014) ship too but state no licence, so they are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from modelscan_vicious.data.datasets import Dataset
from modelscan_vicious.errors import DataLoadError

PHOTO_SIDE = 384  # every photograph is resized to PHOTO_SIDE x PHOTO_SIDE before cutting
BLOCK = 64  # side of the disjoint regions that the split keeps whole
PATCH = 32
PATCHES_PER_BLOCK = 20
PATCHES_SEED = 20260101


@dataclass(frozen=True)
class Photograph:
    name: str  # the skimage.data function that returns it
    licence: str
    crop: tuple[float, float, float, float] | None = None  # (top, left, bottom, right) fractions kept


PHOTOGRAPHS = (
    Photograph("astronaut", "public domain (NASA)"),
    Photograph("chelsea", "CC0 (Stefan van der Walt)"),
    Photograph("coffee", "CC0 (Rachel Michetti)"),
    Photograph("rocket", "public domain (SpaceX)"),
    Photograph("hubble_deep_field", "public domain (NASA)"),
    Photograph("immunohistochemistry", "no known copyright restrictions (CMMI)"),
    # The fundus fills a disc on black; keep the square inside it so black corners cannot pass for
    # the deep field's dark sky.
    Photograph("retina", "CC0 1.0 (Mikael Häggström)", crop=(0.18, 0.18, 0.82, 0.82)),
)


def skimage_data() -> ModuleType:
    """skimage.data, or a DataLoadError that says how to install it."""
    try:
        import skimage.data
    except ImportError as err:
        raise DataLoadError(
            "the photo-patches, lfw-faces and mnist-texture datasets need scikit-image; "
            "install it with: pip install scikit-image"
        ) from err
    return skimage.data


def load_photograph(photo: Photograph, side: int = PHOTO_SIDE) -> np.ndarray:
    """One bundled photograph as (side, side, 3) float32 in [0, 1]: cropped, centre-squared, resized."""
    from PIL import Image

    pixels = np.asarray(getattr(skimage_data(), photo.name)())[..., :3]
    height, width = pixels.shape[:2]
    if photo.crop is not None:
        top, left, bottom, right = photo.crop
        pixels = pixels[int(top * height) : int(bottom * height), int(left * width) : int(right * width)]
        height, width = pixels.shape[:2]
    square = min(height, width)
    top, left = (height - square) // 2, (width - square) // 2
    pixels = np.ascontiguousarray(pixels[top : top + square, left : left + square])
    resized = Image.fromarray(pixels).resize((side, side), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32) / 255.0


def photo_patches(*, seed: int = PATCHES_SEED, patches_per_block: int = PATCHES_PER_BLOCK) -> Dataset:
    """The photo-patches dataset: (N, 3, 32, 32) images, label = photograph, group = 64x64 block."""
    rng = np.random.default_rng(seed)
    blocks_per_side = PHOTO_SIDE // BLOCK
    images, labels, groups = [], [], []
    for label, photo in enumerate(PHOTOGRAPHS):
        pixels = load_photograph(photo)
        for block in range(blocks_per_side**2):
            row, col = divmod(block, blocks_per_side)
            offsets = rng.integers(0, BLOCK - PATCH + 1, size=(patches_per_block, 2))
            for dy, dx in offsets:
                top, left = row * BLOCK + dy, col * BLOCK + dx
                images.append(pixels[top : top + PATCH, left : left + PATCH].transpose(2, 0, 1))
            labels += [label] * patches_per_block
            groups += [label * blocks_per_side**2 + block] * patches_per_block
    return Dataset(
        "photo-patches",
        np.ascontiguousarray(np.stack(images), dtype=np.float32),
        np.asarray(labels, dtype=np.int64),
        len(PHOTOGRAPHS),
        groups=np.asarray(groups, dtype=np.int64),
    )


def random_photo_crops(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n random (3, size, size) crops of the bundled photographs (texture backgrounds), float32 in [0, 1]."""
    photos = np.stack([load_photograph(photo) for photo in PHOTOGRAPHS])
    which = rng.integers(0, len(photos), size=n)
    tops, lefts = rng.integers(0, PHOTO_SIDE - size + 1, size=(2, n))
    crops = np.stack([photos[w, t : t + size, left : left + size] for w, t, left in zip(which, tops, lefts)])
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
