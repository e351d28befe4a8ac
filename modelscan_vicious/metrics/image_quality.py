"""Image-quality metrics for reconstructions: PSNR and SSIM, as the vicious-classifier paper computes them.

PSNR pools the MSE over the whole set; SSIM uses a Gaussian window of 11 px, sigma 1.5,
shrunk to fit images smaller than 11 px (e.g. the 8x8 scikit-learn digits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

PAPER_WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
_MIN_WINDOW_SIZE = 3


def _to_numpy(images: Any, name: str) -> np.ndarray:
    """Return numpy or torch images as a float64 numpy array."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    array = np.asarray(images, dtype=np.float64)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def psnr(originals: Any, reconstructions: Any, data_range: float = 1.0) -> float:
    """10 * log10(range^2 / MSE), the MSE pooled over every pixel of the set; inf if identical."""
    x = _to_numpy(originals, "originals")
    x_tilde = _to_numpy(reconstructions, "reconstructions")
    if x.shape != x_tilde.shape:
        raise ValueError(f"originals and reconstructions differ in shape: {x.shape} vs {x_tilde.shape}")
    mse = float(np.mean((x - x_tilde) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim_window_size(height: int, width: int) -> int:
    """Gaussian window side: 11 (the paper's) unless the image is smaller, then the largest odd fit."""
    smallest = min(int(height), int(width))
    if smallest < _MIN_WINDOW_SIZE:
        raise ValueError(f"SSIM needs images at least {_MIN_WINDOW_SIZE}x{_MIN_WINDOW_SIZE} px; got {height}x{width}")
    if smallest >= PAPER_WINDOW_SIZE:
        return PAPER_WINDOW_SIZE
    return smallest if smallest % 2 == 1 else smallest - 1


def _as_image_batch(images: Any, name: str) -> torch.Tensor:
    """Return images as a detached float32 CPU tensor of shape (n, C, H, W)."""
    import torch

    if isinstance(images, torch.Tensor):
        tensor = images.detach().to(device="cpu", dtype=torch.float32)
    else:
        tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tensor.ndim == 3:  # (n, H, W): single-channel images without a channel axis
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4:
        raise ValueError(f"{name} must have shape (n, C, H, W) or (n, H, W); got {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return tensor


def ssim_per_sample(
    originals: Any,
    reconstructions: Any,
    data_range: float = 1.0,
    *,
    batch_size: int = 1024,
) -> np.ndarray:
    """SSIM of each reconstruction against its original, shape (n,), computed on CPU in float32."""
    import torch
    from pytorch_msssim import ssim as msssim_ssim

    x = _as_image_batch(originals, "originals")
    x_tilde = _as_image_batch(reconstructions, "reconstructions")
    if x.shape != x_tilde.shape:
        raise ValueError(f"originals and reconstructions differ in shape: {tuple(x.shape)} vs {tuple(x_tilde.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
    win_size = ssim_window_size(x.shape[2], x.shape[3])
    scores = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            stop = start + batch_size
            scores.append(
                msssim_ssim(
                    x_tilde[start:stop],
                    x[start:stop],
                    data_range=data_range,
                    size_average=False,
                    win_size=win_size,
                    win_sigma=WINDOW_SIGMA,
                )
            )
    return torch.cat(scores).numpy().astype(np.float64)


def ssim(originals: Any, reconstructions: Any, data_range: float = 1.0) -> float:
    """Mean SSIM over the set (the paper's reported SSIM)."""
    return float(ssim_per_sample(originals, reconstructions, data_range).mean())


def _gaussian_band(size: int, win_size: int) -> torch.Tensor:
    """(size - win + 1, size) matrix whose product with a signal is pytorch-msssim's 'valid' Gaussian blur."""
    import torch

    offsets = torch.arange(win_size, dtype=torch.float64) - win_size // 2
    kernel = torch.exp(-(offsets**2) / (2 * WINDOW_SIGMA**2))
    kernel /= kernel.sum()
    band = torch.zeros(size - win_size + 1, size, dtype=torch.float64)
    for row in range(size - win_size + 1):
        band[row, row : row + win_size] = kernel
    return band.float()


def ssim_loss_fn(
    height: int,
    width: int,
    *,
    data_range: float = 1.0,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A differentiable loss `(x_hat, x) -> 1 - mean SSIM` for training decoders.

    The same SSIM as `ssim` (pytorch-msssim's formula, window and constants; a test holds them
    equal to 1e-5), but the separable Gaussian blur is two matrix products on all five statistics
    at once instead of ten depthwise convolutions: 3-8x faster on a CPU, forward and backward
    (`benchmarks/ssim_loss.py`), and decoder training is most of a scan's attack stage.
    """
    import torch

    win_size = ssim_window_size(height, width)
    blur_rows, blur_cols = _gaussian_band(height, win_size), _gaussian_band(width, win_size).T
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x_hat.shape != x.shape or x.ndim != 4:
            raise ValueError(
                f"expected two (n, C, H, W) batches of the same shape; got {tuple(x_hat.shape)} and {tuple(x.shape)}"
            )
        if tuple(x.shape[2:]) != (height, width):
            raise ValueError(f"loss built for {height}x{width} images; got {x.shape[2]}x{x.shape[3]}")
        rows, cols = blur_rows.to(x), blur_cols.to(x)
        mu_a, mu_b, aa, bb, ab = rows @ torch.stack([x_hat, x, x_hat * x_hat, x * x, x_hat * x]) @ cols
        var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
        luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
        contrast_structure = (2 * cov + c2) / (var_a + var_b + c2)
        return 1.0 - (luminance * contrast_structure).mean()

    return loss
