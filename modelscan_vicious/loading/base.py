"""What the scanner needs from a suspect classifier, whatever its file format."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from modelscan_vicious.results import ModelInfo

MAX_MODEL_BYTES = 1 << 30  # 1 GiB: far above any image classifier this tool targets
MAX_PROBE_SECONDS = 30.0  # a classifier that needs longer for 16 small inputs would make the scan unbounded
PROBABILITY_TOLERANCE = 1e-3


class SuspectModel(ABC):
    """A loaded, untrusted classifier: a black box over (N, C, H, W) float32 model inputs."""

    format: str = ""

    def __init__(self, path: Path, input_shape: tuple[int, int, int], n_outputs: int, output_kind: str) -> None:
        self.path = path
        self.sha256 = file_sha256(path)
        self.input_shape = input_shape
        self.n_outputs = n_outputs
        self.output_kind = output_kind

    @abstractmethod
    def predict(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Outputs (N, n_outputs) float32 for model-space inputs (N, C, H, W)."""

    @abstractmethod
    def trainable_copy(self):
        """A fresh torch.nn.Module with the same weights; raises ModelNotTrainableError if impossible."""

    @property
    def trainable(self) -> bool:
        return True

    def info(self) -> ModelInfo:
        return ModelInfo(
            path=str(self.path),
            sha256=self.sha256,
            format=self.format,
            input_shape=self.input_shape,
            n_outputs=self.n_outputs,
            output_kind=self.output_kind,
            trainable=self.trainable,
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def classify_outputs(outputs: np.ndarray) -> str:
    """'probabilities' when every row is non-negative and sums to 1 (softmax release), else 'logits'."""
    rows_sum_to_one = np.abs(outputs.sum(axis=1) - 1.0) < PROBABILITY_TOLERANCE
    if outputs.min() >= 0 and rows_sum_to_one.all():
        return "probabilities"
    return "logits"


def probe_inputs(input_shape: tuple[int, int, int], n: int = 16) -> np.ndarray:
    """Seeded random inputs used to check a freshly loaded model runs and to classify its outputs."""
    return np.random.default_rng(0).random((n, *input_shape), dtype=np.float32)


def classifier_outputs(path: Path, outputs: np.ndarray) -> np.ndarray:
    """(N, classes) float32 from a classifier's raw output; trailing singleton dimensions, as a
    1x1 convolution head leaves them (N, classes, 1, 1), are dropped. Any other shape is refused."""
    from modelscan_vicious.errors import ModelLoadError

    outputs = np.asarray(outputs)
    while outputs.ndim > 2 and outputs.shape[-1] == 1:
        outputs = outputs[..., 0]
    if outputs.ndim != 2:
        raise ModelLoadError(
            f"{path}: the model's outputs have shape {tuple(outputs.shape)}; a classifier gives (N, classes)"
        )
    return outputs.astype(np.float32)


def check_probe_outputs(path: Path, outputs: np.ndarray) -> None:
    """Refuse outputs no classifier gives: fewer than two classes, or NaN/Inf on ordinary inputs."""
    from modelscan_vicious.errors import ModelLoadError

    if outputs.shape[1] < 2:
        raise ModelLoadError(
            f"{path}: the model has one class (outputs of shape {tuple(outputs.shape)}); "
            "a classifier needs at least two"
        )
    if not np.isfinite(outputs).all():
        raise ModelLoadError(f"{path}: the model's outputs are not finite (NaN or Inf) on ordinary inputs")


def check_probe_time(path: Path, seconds: float) -> None:
    """Refuse models whose first 16 queries took unreasonably long: the scan makes thousands."""
    from modelscan_vicious.errors import ModelLoadError

    if seconds > MAX_PROBE_SECONDS:
        raise ModelLoadError(
            f"{path}: 16 queries took {seconds:.0f} s (limit {MAX_PROBE_SECONDS:.0f} s); too slow to scan safely"
        )


def needs_flat_head(module, input_shape: tuple[int, int, int]) -> bool:
    """True when a trainable copy's outputs carry trailing singleton dimensions, (N, classes, 1, 1) as a
    1x1-convolution head leaves them: the copy then gets a Flatten, as `classifier_outputs` does for
    the suspect's own outputs, so the classification loss sees (N, classes)."""
    import torch

    with torch.no_grad():
        outputs = module.eval()(torch.zeros((2, *input_shape)))
    return outputs.dim() > 2 and all(size == 1 for size in outputs.shape[2:])


def with_flat_head(module):
    import torch

    return torch.nn.Sequential(module, torch.nn.Flatten(1))
