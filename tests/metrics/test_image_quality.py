"""Tests for modelscan_vicious.metrics.image_quality: PSNR closed forms, SSIM behaviour, the loss."""

import warnings

import numpy as np
import pytest
import torch

from modelscan_vicious.metrics import (
    psnr,
    ssim,
    ssim_loss_fn,
    ssim_per_sample,
    ssim_window_size,
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Smooth-ish (6, 1, 28, 28) images in [0, 1]."""
    rng = np.random.default_rng(0)
    coarse = rng.uniform(size=(6, 1, 7, 7))
    return np.kron(coarse, np.ones((1, 1, 4, 4)))


def _noisy(images: np.ndarray, scale: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(size=images.shape)
    return np.clip(images + scale * noise, 0.0, 1.0)


def test_psnr_closed_form():
    originals = np.zeros((2, 1, 4, 4))
    assert psnr(originals, originals + 0.1) == pytest.approx(20.0)
    # MSE is pooled over the set: (0.1^2 + 0.3^2) / 2 = 0.05, not a mean of per-image PSNRs.
    recon = np.concatenate([np.full((1, 1, 4, 4), 0.1), np.full((1, 1, 4, 4), 0.3)])
    assert psnr(originals, recon) == pytest.approx(10 * np.log10(1 / 0.05))
    assert psnr(originals, originals + 25.5, data_range=255.0) == pytest.approx(20.0)


def test_psnr_identical_is_infinite_and_accepts_tensors(images):
    assert psnr(images, images) == float("inf")
    assert psnr(torch.tensor(images), torch.tensor(images + 0.1)) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [(8, 8, 7), (28, 28, 11), (32, 32, 11), (9, 9, 9), (3, 3, 3), (8, 28, 7), (11, 64, 11)],
)
def test_window_size(height, width, expected):
    assert ssim_window_size(height, width) == expected


def test_window_size_rejects_tiny_images():
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim_window_size(2, 8)


def test_ssim_of_identical_images_is_one(images):
    assert ssim(images, images) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(ssim_per_sample(images, images), 1.0, atol=1e-6)


def test_ssim_decreases_with_noise(images):
    scores = [ssim(images, _noisy(images, s)) for s in (0.0, 0.05, 0.1, 0.3)]
    assert np.all(np.diff(scores) < 0)


def test_per_sample_mean_equals_set_value(images):
    recon = _noisy(images, 0.1)
    per_sample = ssim_per_sample(images, recon)
    assert per_sample.shape == (images.shape[0],)
    assert per_sample.mean() == pytest.approx(ssim(images, recon), abs=1e-7)
    batched = ssim_per_sample(images, recon, batch_size=4)
    np.testing.assert_allclose(batched, per_sample, atol=1e-7)


def test_ssim_accepts_tensors_and_numpy_alike(images):
    recon = _noisy(images, 0.1)
    from_numpy = ssim(images, recon)
    from_torch = ssim(torch.tensor(images, dtype=torch.float64), torch.tensor(recon))
    assert from_torch == pytest.approx(from_numpy, abs=1e-7)


def test_ssim_on_8px_images_emits_no_warnings():
    rng = np.random.default_rng(2)
    digits = rng.uniform(size=(5, 1, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = ssim(digits, _noisy(digits, 0.1))
    assert 0.0 < score < 1.0


def test_ssim_rejects_mismatched_shapes(images):
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(images, images[:2])


def test_ssim_loss_has_gradients(images):
    loss_fn = ssim_loss_fn(28, 28)
    target = torch.tensor(images, dtype=torch.float32)
    x_hat = torch.tensor(_noisy(images, 0.2), dtype=torch.float32, requires_grad=True)
    loss = loss_fn(x_hat, target)
    assert loss.ndim == 0 and loss.requires_grad
    loss.backward()
    assert x_hat.grad is not None
    assert torch.isfinite(x_hat.grad).all() and x_hat.grad.abs().sum() > 0
    assert loss.item() == pytest.approx(1.0 - ssim(images, x_hat.detach()), abs=1e-6)


def test_ssim_loss_is_zero_for_identical_images(images):
    target = torch.tensor(images, dtype=torch.float32)
    assert ssim_loss_fn(28, 28)(target, target).item() == pytest.approx(0.0, abs=1e-6)


def test_ssim_loss_rejects_other_image_sizes(images):
    with pytest.raises(ValueError, match="built for 8x8"):
        ssim_loss_fn(8, 8)(torch.tensor(images), torch.tensor(images))


@pytest.mark.parametrize("shape", [(16, 1, 8, 8), (16, 1, 28, 28), (8, 3, 32, 32), (8, 1, 12, 20)])
def test_ssim_loss_equals_pytorch_msssim_values_and_gradients(shape):
    from pytorch_msssim import ssim as library_ssim

    generator = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=generator)
    x_hat = (target + 0.3 * torch.rand(shape, generator=generator)).clamp(0, 1).requires_grad_(True)
    ours = ssim_loss_fn(shape[2], shape[3])(x_hat, target)
    (ours_grad,) = torch.autograd.grad(ours, x_hat)
    win = ssim_window_size(shape[2], shape[3])
    theirs = 1 - library_ssim(x_hat, target, data_range=1.0, win_size=win, win_sigma=1.5)
    (their_grad,) = torch.autograd.grad(theirs, x_hat)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-5)
    torch.testing.assert_close(ours_grad, their_grad, atol=1e-6, rtol=1e-3)
