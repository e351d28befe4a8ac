"""Typed results of one scan. Reports read only these, never the pipeline's internals.

A leaf module: loading, detectors and the pipeline build these values, and nothing here imports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = "1.5.0"


@dataclass(frozen=True)
class ModelInfo:
    path: str
    sha256: str
    format: str  # "onnx" | "torchscript"
    input_shape: tuple[int, int, int]  # (C, H, W)
    n_outputs: int
    output_kind: str  # "logits" | "probabilities"
    trainable: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d


@dataclass(frozen=True)
class Evidence:
    """One statistic on the suspect, next to the same statistic on honest references."""

    name: str
    suspect_value: float
    reference_values: list[float]
    description: str
    z_score: float | None = None  # (suspect - mean(ref)) / robust spread; None if undefined

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ViciousnessResult:
    probability: float | None  # None when the detector could not run
    interval: tuple[float, float] | None  # bootstrap interval over reference seeds
    evidence: list[Evidence]
    mode: str  # "white-box" (trainable copy) | "black-box"
    calibration: str  # provenance of the calibration model
    notes: list[str] = field(default_factory=list)
    # what the calibration's own scans had: "auxiliary" inputs, or the "labelled-only" set (no --aux)
    calibration_data: str = "auxiliary"
    # the reference method of the calibration's own scans: "scratch", or "head" (fitted on head-reference scans)
    calibration_references: str = "scratch"

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability": self.probability,
            "interval": list(self.interval) if self.interval is not None else None,
            "evidence": [e.to_dict() for e in self.evidence],
            "mode": self.mode,
            "calibration": self.calibration,
            "notes": list(self.notes),
            "calibration_data": self.calibration_data,
            "calibration_references": self.calibration_references,
        }


@dataclass(frozen=True)
class ReconstructionResult:
    R: float
    psnr: float
    ssim: float
    n_eval: int
    covariance_estimator: str
    n_covariance_samples: int
    attacker_data: str  # e.g. "auxiliary (2000 inputs from mnist.npz)" or "labelled set, augmented"
    lower_bound: bool
    release: str  # "logits" | "softmax" | "top-K" | "label"
    attack: str  # name of the attack that produced the numbers
    per_sample_risk: list[float]
    reference_R: list[float]  # same attack against honest reference copies
    reference_ssim: list[float]
    attacks: list[dict[str, Any]] = field(default_factory=list)  # every attack run: name, R, psnr, ssim, n_eval
    risk_gate: float | None = None  # the R the verdict compared with (None: results built before 1.2.0)
    risk_gate_basis: str = ""  # "absolute, --fail-on-risk" or the honest references' highest R + margin
    # Pixel data for the HTML grid, in [0, 1], shape (n, C, H, W); not written to JSON.
    example_originals: np.ndarray | None = field(default=None, repr=False, compare=False)
    example_reconstructions: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if not k.startswith("example_")}
        return d


@dataclass(frozen=True)
class PluginOutcome:
    name: str
    kind: str  # "detector" | "attack"
    status: str  # "ok" | "skipped" | "failed" | "not-applicable" (the check does not apply to this release)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    status: str  # "passed" | "failed" | "error"
    exit_code: int
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MitigationResult:
    """One output mitigation a deployer could apply, measured by re-attacking the mitigated outputs."""

    name: str
    description: str
    accuracy: float
    accuracy_drop: float
    R: float
    ssim: float
    recommended: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContainmentInfo:
    """How the model was contained while it ran (README "Containment")."""

    mechanisms: list[str]  # e.g. network-namespace, rlimit-address-space, landlock-abi-7-filesystem
    weak: bool  # True when a mechanism was missing and the user accepted it (--allow-weak-containment)
    timeout_s: float  # wall-clock limit of this model's scan
    max_memory_bytes: int
    files_read: list[str]  # the model's own files the worker could read (model, vetted external data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReferenceCacheInfo:
    """Where the honest references came from (README "Reference cache")."""

    status: str  # the references: "hit" (loaded from the cache) | "miss" (trained) | "off" (--no-cache)
    key: str | None  # the cache key of the references; None when the cache was off
    stored: bool  # a miss whose trained references were stored in the cache
    attack_outcomes: str  # the reference attack's runs: "hit" | "partial" | "miss" | "off" | "not-run"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostInfo:
    """What the scan was estimated to cost before its heavy stages, and what it cut to fit --timeout."""

    estimated_seconds: dict[str, float]  # per stage, for the budget that ran
    step_seconds: dict[str, float]  # the timings the estimate multiplies (measured on this machine)
    parameters: int  # of the trainable copy (or the black-box stand-in the references use)
    flops_per_input: float | None  # forward FLOPs of one input, where PyTorch can count them
    timeout_s: float
    reductions: list[str]  # e.g. "reference epochs 20 -> 6"; empty: the full method ran
    budget: dict[str, Any]  # the budget that ran (settings.budget is the one asked for)
    reference_method: str = "scratch"  # how the references were made: "scratch" or "head" (config.REFERENCE_METHODS)
    reference_choice: str = ""  # why --references auto took head references although from-scratch ones were calibrated
    head_calibrated: bool = False  # the calibration file had a head fit for this scan (auto's choice depends on it)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScanResult:
    model: ModelInfo | None  # None when the model could not be loaded
    model_path: str
    viciousness: ViciousnessResult | None
    reconstruction: ReconstructionResult | None
    verdict: Verdict
    settings: dict[str, Any]
    environment: dict[str, Any]  # tool/library versions, python, platform, device
    timings: dict[str, float]  # seconds per stage
    plugins: list[PluginOutcome] = field(default_factory=list)
    mitigations: list[MitigationResult] = field(default_factory=list)  # with --mitigate
    tool_version: str = ""
    schema_version: str = SCHEMA_VERSION
    containment: ContainmentInfo | None = None  # None: scanned in-process (--no-containment)
    reference_cache: ReferenceCacheInfo | None = None  # None: the references stage did not run
    cost: CostInfo | None = None  # None: the scan stopped before its estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "model": self.model.to_dict() if self.model else {"path": self.model_path},
            "viciousness": self.viciousness.to_dict() if self.viciousness else None,
            "reconstruction": self.reconstruction.to_dict() if self.reconstruction else None,
            "verdict": self.verdict.to_dict(),
            "settings": dict(self.settings),
            "environment": dict(self.environment),
            "timings": dict(self.timings),
            "plugins": [p.to_dict() for p in self.plugins],
            "mitigations": [m.to_dict() for m in self.mitigations],
            "containment": self.containment.to_dict() if self.containment else None,
            "reference_cache": self.reference_cache.to_dict() if self.reference_cache else None,
            "cost": self.cost.to_dict() if self.cost else None,
        }
