"""Unlabelled auxiliary inputs for the surrogate attack: .npz, a folder of images, or IDX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelscan_vicious.data.idx import read_idx
from modelscan_vicious.data.images import IMAGE_SUFFIXES, array_to_images, read_image
from modelscan_vicious.errors import DataLoadError

MAX_AUX_IMAGES = 200_000


def load_auxiliary(path: Path, input_shape: tuple[int, int, int], *, limit: int | None = None) -> np.ndarray:
    """Return (N, C, H, W) float32 in [0, 1]; `limit` keeps the first N (the caller shuffles with its seed)."""
    if path.is_dir():
        images = _load_folder(path, input_shape, limit)
    elif not path.is_file():
        raise DataLoadError(f"{path}: auxiliary data not found")
    elif path.suffix == ".npz":
        images = array_to_images(_load_npz(path, limit), input_shape, str(path))
    elif path.name.endswith((".gz", "-ubyte", ".idx")):
        images = array_to_images(_cap(read_idx(path), limit), input_shape, str(path))
    else:
        raise DataLoadError(f"{path}: auxiliary data must be an .npz with array 'x', an image folder or IDX file")
    return images


def _cap(array: np.ndarray, limit: int | None) -> np.ndarray:
    cap = MAX_AUX_IMAGES if limit is None else min(limit, MAX_AUX_IMAGES)
    return array[:cap]


def _load_npz(path: Path, limit: int | None) -> np.ndarray:
    try:
        # allow_pickle=False: an .npz with object arrays is refused rather than unpickled.
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy array under an .npz name
            raise DataLoadError(f"{path}: not an .npz archive; save the images with np.savez(path, x=images)")
        with archive:
            if "x" not in archive.files:
                raise DataLoadError(f"{path}: the .npz has no array 'x' (found: {', '.join(archive.files) or 'none'})")
            return _cap(archive["x"], limit)
    except DataLoadError:
        raise
    except (OSError, ValueError, EOFError) as err:
        raise DataLoadError(f"{path}: unreadable .npz ({err})") from err


def _load_folder(folder: Path, input_shape: tuple[int, int, int], limit: int | None) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataLoadError(f"{folder}: no image files in the folder")
    files = files[: MAX_AUX_IMAGES if limit is None else min(limit, MAX_AUX_IMAGES)]
    return np.stack([read_image(p, input_shape) for p in files]).astype(np.float32)
