"""Writing labelled CSVs and auxiliary .npz files (make-fixture, tests and benchmarks)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from modelscan_vicious.atomic_file import write_atomic


def write_pixel_csv(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """`label,p0,p1,...` with pixels as 0-255 integers, the first form the scanner reads."""
    flat = np.rint(images.reshape(len(images), -1) * 255).astype(np.int64)
    header = "label," + ",".join(f"p{i}" for i in range(flat.shape[1]))
    rows = [f"{int(y)}," + ",".join(map(str, row)) for y, row in zip(labels, flat)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "\n".join([header, *rows]) + "\n")


def write_auxiliary_npz(path: Path, images: np.ndarray) -> None:
    """Array `x` as uint8 (N, C, H, W)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.rint(images * 255).astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
