"""Bringing image files and arrays to a model's (C, H, W) shape, as float32 in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelscan_vicious.errors import DataLoadError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
MAX_IMAGE_PIXELS = 50_000_000  # refuse decompression bombs early


GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def image_file_shape(path: Path) -> tuple[int, int, int]:
    """(C, H, W) an image file holds, from its header alone: 1 channel for grey modes, else 3."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as img:
            width, height = img.size
            return (1 if img.mode in GRAY_MODES else 3, height, width)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as err:
        raise DataLoadError(f"{path}: unreadable image ({type(err).__name__}: {err})") from err


def read_image(path: Path, input_shape: tuple[int, int, int]) -> np.ndarray:
    """One image file -> (C, H, W) float32 in [0, 1], resized and channel-converted."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = input_shape
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as err:
        raise DataLoadError(f"{path}: unreadable image ({type(err).__name__}: {err})") from err
    if channels == 1:
        return pixels[None]
    if channels == 3:
        return pixels.transpose(2, 0, 1)
    raise DataLoadError(f"{path}: models with {channels} input channels cannot take image files; use an .npz")


def array_to_images(array: np.ndarray, input_shape: tuple[int, int, int], source: str) -> np.ndarray:
    """(N, H, W) or (N, C, H, W) uint8/float array -> (N, C, H, W) float32 in [0, 1] of the model's shape."""
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise DataLoadError(f"{source}: expected an array of shape (N,H,W) or (N,C,H,W), got {array.shape}")
    if array.shape[0] == 0:
        raise DataLoadError(f"{source}: the array holds no images")
    if np.issubdtype(array.dtype, np.integer):
        images = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        images = array.astype(np.float32)
        if not np.isfinite(images).all():
            raise DataLoadError(f"{source}: the array holds NaN or infinite values")
        if images.min() < 0 or images.max() > 1:
            if images.min() >= 0 and images.max() <= 255:
                images = images / 255.0
            else:
                raise DataLoadError(f"{source}: float pixels must lie in [0, 1] or [0, 255]")
    else:
        raise DataLoadError(f"{source}: pixel dtype {array.dtype} is not numeric")
    return _match_shape(images, input_shape)


def _match_shape(images: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    channels, height, width = input_shape
    if images.shape[1] != channels:
        if images.shape[1] == 1:
            images = np.repeat(images, channels, axis=1)
        elif images.shape[1] == 3 and channels == 1:
            images = (images * np.array([0.299, 0.587, 0.114], np.float32)[None, :, None, None]).sum(1, keepdims=True)
        else:
            raise DataLoadError(f"cannot convert {images.shape[1]}-channel images to {channels} channels")
    if images.shape[2:] != (height, width):
        tensor = F.interpolate(torch.from_numpy(images), size=(height, width), mode="bilinear", antialias=True)
        images = tensor.clamp(0, 1).numpy()
    return np.ascontiguousarray(images, dtype=np.float32)
