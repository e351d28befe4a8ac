"""Cheap, label-preserving variety for small attacker sets: one-pixel shifts and pixel noise."""

from __future__ import annotations

import numpy as np


def augment(images: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
    """The originals followed by `copies - 1` shifted, noisy copies, clipped to [0, 1]."""
    out = [images]
    for _ in range(copies - 1):
        dy, dx = rng.integers(-1, 2, size=2)
        shifted = np.roll(images, (int(dy), int(dx)), axis=(2, 3))
        noisy = shifted + rng.normal(0, 0.03, size=images.shape).astype(np.float32)
        out.append(np.clip(noisy, 0, 1).astype(np.float32))
    return np.concatenate(out)
