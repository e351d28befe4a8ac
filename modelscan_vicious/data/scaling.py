"""Mapping between image space ([0, 1], where reconstructions are scored) and a model's input space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelscan_vicious.errors import UsageError

INPUT_RANGES = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 1.0)}


@dataclass(frozen=True)
class InputScaling:
    """x_model = (lo + (hi - lo) * x01 - mean) / std, per channel where mean/std have C entries."""

    input_range: str = "0-1"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.input_range not in INPUT_RANGES:
            raise UsageError(f"--input-range must be one of {', '.join(INPUT_RANGES)}, got {self.input_range!r}")
        if (self.mean is None) != (self.std is None):
            raise UsageError("--mean and --std must be given together")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise UsageError(f"--std values must be positive, got {self.std}")

    @property
    def is_identity(self) -> bool:
        return self.input_range == "0-1" and self.mean is None

    def _affine(self, channels: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = INPUT_RANGES[self.input_range]
        scale = np.full(channels, hi - lo, dtype=np.float64)
        shift = np.full(channels, lo, dtype=np.float64)
        if self.mean is not None and self.std is not None:
            mean = _per_channel(self.mean, channels, "--mean")
            std = _per_channel(self.std, channels, "--std")
            scale, shift = scale / std, (shift - mean) / std
        return scale.astype(np.float32), shift.astype(np.float32)

    def apply(self, images: np.ndarray) -> np.ndarray:
        """Image-space batch (N, C, H, W) in [0, 1] -> model-input batch, float32."""
        if self.is_identity:
            return images.astype(np.float32, copy=False)
        scale, shift = self._affine(images.shape[1])
        return (images * scale[None, :, None, None] + shift[None, :, None, None]).astype(np.float32)

    def as_module(self, channels: int):
        """The same mapping as a torch module, to put in front of a trainable model copy."""
        import torch

        scale, shift = self._affine(channels)

        class _Scale(torch.nn.Module):
            scale: torch.Tensor
            shift: torch.Tensor

            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("scale", torch.from_numpy(scale).view(1, -1, 1, 1))
                self.register_buffer("shift", torch.from_numpy(shift).view(1, -1, 1, 1))

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x * self.scale + self.shift

        return _Scale()

    def to_dict(self) -> dict:
        return {"input_range": self.input_range, "mean": self.mean, "std": self.std}


def _per_channel(values: tuple[float, ...], channels: int, flag: str) -> np.ndarray:
    if len(values) == 1:
        return np.full(channels, values[0], dtype=np.float64)
    if len(values) != channels:
        raise UsageError(f"{flag} needs 1 or {channels} values (the model has {channels} channels), got {len(values)}")
    return np.asarray(values, dtype=np.float64)
