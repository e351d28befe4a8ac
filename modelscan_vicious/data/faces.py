"""`lfw-faces`: face vs non-face at 1x32x32 from scikit-image's bundled LFW subset.

`skimage.data.lfw_subset()` holds 200 greyscale 25x25 crops: 100 faces randomly drawn from Labeled
Faces in the Wild and 100 non-faces cut from the same photographs' backgrounds. Faces are what the
seed paper's CelebA experiment protects; here the task is the only one the subset labels, face (1)
or not (0). Each crop is resized to 32x32 and joined by its mirror image, which shares its group id
so that `split_dataset` keeps the two in one split: 400 images (train 220 / test 60 / pool 120).
A two-class model releases two logits, so even a vicious one can leak little through them.

Licence: LFW (Huang, Ramesh, Berg, Learned-Miller, UMass Amherst) states no licence; its images are
news photographs of public figures collected from the web and distributed for research. scikit-image
redistributes this subset in its wheel; use it for research and testing only.
"""

from __future__ import annotations

import numpy as np

from modelscan_vicious.data.datasets import Dataset
from modelscan_vicious.data.photographs import skimage_data

FACE_SIDE = 32
N_FACES = 100  # lfw_subset(): the first 100 crops are faces, the next 100 are not


def lfw_faces(*, side: int = FACE_SIDE) -> Dataset:
    """The lfw-faces dataset: (400, 1, side, side) float32 in [0, 1], labels 1 = face, 0 = non-face."""
    import torch
    import torch.nn.functional as F

    crops = np.asarray(skimage_data().lfw_subset(), dtype=np.float32)
    resized = F.interpolate(torch.from_numpy(crops)[:, None], size=(side, side), mode="bilinear", align_corners=False)
    originals = resized.clamp(0, 1).numpy()
    images = np.concatenate([originals, originals[..., ::-1]])
    labels = (np.arange(len(crops)) < N_FACES).astype(np.int64)
    groups = np.arange(len(crops), dtype=np.int64)
    return Dataset(
        "lfw-faces",
        np.ascontiguousarray(images, dtype=np.float32),
        np.concatenate([labels, labels]),
        2,
        groups=np.concatenate([groups, groups]),
    )
