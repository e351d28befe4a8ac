"""Hand-built scan results covering the three verdicts the report writers must handle."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.results import (
    Evidence,
    ModelInfo,
    PluginOutcome,
    ReconstructionResult,
    ScanResult,
    Verdict,
    ViciousnessResult,
)

SETTINGS = {
    "seed": 0,
    "device": "cpu",
    "budget": {"name": "fast", "n_references": 3, "n_bootstrap": 200},
    "thresholds": {"fail_on_probability": 0.5, "fail_on_risk": 1.5},  # as config.py's ScanConfig records them
}
ENVIRONMENT = {
    "python": "3.11.9",
    "platform": "Linux-x86_64",
    "device": "cpu",
    "packages": {"numpy": "2.0.0", "onnxruntime-gpu": "1.31.1"},  # the GPU build, on a CPU scan
}


def _model(path: str) -> ModelInfo:
    return ModelInfo(
        path=path,
        sha256="ab" * 32,
        format="onnx",
        input_shape=(1, 8, 8),
        n_outputs=10,
        output_kind="logits",
        trainable=True,
    )


def make_failed_result(model_path: str = "models/vicious_mnist.onnx") -> ScanResult:
    """Every section filled, including non-finite numbers and small example images."""
    rng = np.random.default_rng(0)
    originals = rng.random((6, 1, 8, 8))
    reconstructions = np.clip(originals + rng.normal(0, 0.05, originals.shape), 0, 1)
    evidence = [
        Evidence("weight_drift", 4.2, [0.9, 1.1, 1.0], "Distance moved by fine-tuning", 9.7),
        Evidence("within_class_variance", 0.31, [0.2, 0.25, 0.22], "Entropy of released logits", -3.4),
        Evidence("undefined_stat", float("nan"), [float("nan")] * 3, "No references available", None),
    ]
    return ScanResult(
        model=_model(model_path),
        model_path=model_path,
        viciousness=ViciousnessResult(
            probability=0.97,
            interval=(0.91, 0.995),
            evidence=evidence,
            mode="white-box",
            calibration="bundled logistic model (calibration.json)",
            notes=["3 of 4 reference seeds used"],
        ),
        reconstruction=ReconstructionResult(
            R=6.3,
            psnr=float("inf"),
            ssim=0.91,
            n_eval=200,
            covariance_estimator="ledoit-wolf",
            n_covariance_samples=2000,
            attacker_data="auxiliary (2000 inputs from mnist.npz)",
            lower_bound=True,
            release="logits",
            attack="InverseNetworkAttack",
            per_sample_risk=list(rng.lognormal(1.5, 0.6, 200)) + [float("nan")],
            reference_R=[0.98, 1.02, 1.05],
            reference_ssim=[0.12, 0.15, 0.11],
            example_originals=originals,
            example_reconstructions=reconstructions,
        ),
        verdict=Verdict("failed", EXIT_RISK_FOUND, ["vicious probability 0.97 >= 0.5", "R 6.3 >= 1.5"]),
        settings=dict(SETTINGS),
        environment=dict(ENVIRONMENT),
        timings={"load": 0.12, "detect": 3.5, "attack": 12.25},
        plugins=[
            PluginOutcome("finetune-distance", "detector", "ok"),
            PluginOutcome("inverse-network", "attack", "ok"),
            PluginOutcome("gradient-inversion", "attack", "skipped", "model has no gradients"),
        ],
        tool_version="0.1.0",
    )


def make_passed_result(model_path: str = "models/honest.onnx") -> ScanResult:
    return ScanResult(
        model=_model(model_path),
        model_path=model_path,
        viciousness=ViciousnessResult(0.03, (0.01, 0.08), [], "black-box", "bundled", []),
        reconstruction=ReconstructionResult(
            R=1.01,
            psnr=11.2,
            ssim=0.1,
            n_eval=50,
            covariance_estimator="oas",
            n_covariance_samples=500,
            attacker_data="labelled set, augmented",
            lower_bound=True,
            release="label",
            attack="InverseNetworkAttack",
            per_sample_risk=[0.9, 1.0, 1.1],
            reference_R=[1.0],
            reference_ssim=[0.1],
        ),
        verdict=Verdict("passed", EXIT_PASSED, []),
        settings=dict(SETTINGS),
        environment=dict(ENVIRONMENT),
        timings={"load": 0.1},
        plugins=[PluginOutcome("finetune-distance", "detector", "ok")],
        tool_version="0.1.0",
    )


def make_error_result(model_path: str = "models/broken.onnx") -> ScanResult:
    return ScanResult(
        model=None,
        model_path=model_path,
        viciousness=None,
        reconstruction=None,
        verdict=Verdict("error", EXIT_SCAN_ERROR, ["cannot load model: not an ONNX file"]),
        settings=dict(SETTINGS),
        environment=dict(ENVIRONMENT),
        timings={},
        plugins=[],
        tool_version="0.1.0",
    )


@pytest.fixture(scope="session")
def failed_result() -> ScanResult:
    return make_failed_result()


@pytest.fixture(scope="session")
def passed_result() -> ScanResult:
    return make_passed_result()


@pytest.fixture(scope="session")
def error_result() -> ScanResult:
    return make_error_result()
