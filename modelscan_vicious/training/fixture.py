"""make-fixture: train an honest or vicious classifier, export F and its decoder G, describe both."""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from modelscan_vicious import __version__
from modelscan_vicious.data.datasets import Dataset
from modelscan_vicious.metrics import fit_covariance, psnr, reconstruction_risk, ssim
from modelscan_vicious.training.architectures import DEFAULT_WIDTHS, SoftmaxRelease, build_classifier
from modelscan_vicious.training.decoders import OutputDecoder
from modelscan_vicious.training.export import export_model, model_suffix
from modelscan_vicious.training.joint_training import (
    JointTrainingConfig,
    decode,
    evaluate_classifier,
    train_jointly,
)


@dataclass(frozen=True)
class FixtureSpec:
    name: str
    architecture: str
    export_format: str  # "onnx" | "torchscript"
    training: JointTrainingConfig
    width: int | None = None  # first-stage channels of resnet18 / mobilenetv2; None: the default


@dataclass(frozen=True)
class TrainedFixture:
    classifier: torch.nn.Module  # logits, before any softmax release wrapper
    decoder: OutputDecoder
    test_accuracy: float
    decoder_psnr: float
    decoder_ssim: float
    decoder_R: float


def train_fixture(
    spec: FixtureSpec, train: Dataset, test: Dataset, on_epoch: Callable[[int, float], None] | None = None
) -> TrainedFixture:
    """Train F and G from a seeded initialisation and measure them on the test split."""
    torch.manual_seed(spec.training.seed)
    classifier = build_classifier(spec.architecture, train.input_shape, train.n_classes, width=spec.width)
    log_input = spec.training.release == "softmax" and spec.training.decoder_input == "log"
    decoder = OutputDecoder(train.n_classes, train.input_shape, log_input=log_input)
    train_jointly(classifier, decoder, train.images, train.labels, spec.training, on_epoch)
    reconstructions = decode(classifier, decoder, test.images, spec.training.release)
    covariance = fit_covariance(train.images.reshape(len(train.images), -1), "ledoit-wolf")
    return TrainedFixture(
        classifier=classifier,
        decoder=decoder,
        test_accuracy=evaluate_classifier(classifier, test.images, test.labels),
        decoder_psnr=psnr(test.images, reconstructions),
        decoder_ssim=ssim(test.images, reconstructions),
        decoder_R=reconstruction_risk(test.images, reconstructions, covariance),
    )


def export_fixture(spec: FixtureSpec, trained: TrainedFixture, out_dir: Path, input_shape) -> tuple[Path, Path]:
    """Write F (as the deployment would release it) and G (always TorchScript) into out_dir."""
    released = trained.classifier
    if spec.training.release == "softmax":
        released = SoftmaxRelease(trained.classifier)
    model_path = out_dir / f"{spec.name}{model_suffix(spec.export_format)}"
    decoder_path = out_dir / f"{spec.name}.decoder.pt"
    export_model(released, input_shape, model_path, spec.export_format)
    n_inputs = cast(torch.nn.Linear, trained.decoder.net[0]).in_features
    export_model(trained.decoder, (n_inputs,), decoder_path, "torchscript")
    return model_path, decoder_path


def manifest_entry(
    spec: FixtureSpec, trained: TrainedFixture, dataset: str, model_path: Path, decoder_path: Path, root: Path
) -> dict[str, Any]:
    return {
        "name": spec.name,
        "file": _relative(model_path, root),
        "decoder_file": _relative(decoder_path, root),
        "label": "vicious" if spec.training.is_vicious else "honest",
        "format": spec.export_format,
        "architecture": spec.architecture,
        "width": spec.width if spec.width is not None else DEFAULT_WIDTHS.get(spec.architecture),
        "dataset": dataset,
        "release": spec.training.release,
        "training": spec.training.to_dict(),
        "seed": spec.training.seed,
        "test_accuracy": round(trained.test_accuracy, 4),
        "decoder_psnr": round(trained.decoder_psnr, 3),
        "decoder_ssim": round(trained.decoder_ssim, 4),
        "decoder_R": round(trained.decoder_R, 4),
        "created_with": {
            "tool_version": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            # Float reductions depend on the thread count: the same seed rebuilds the same model
            # only with the same number of threads (benchmarks/zoo.py always uses one).
            "torch_threads": torch.get_num_threads(),
        },
    }


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())
