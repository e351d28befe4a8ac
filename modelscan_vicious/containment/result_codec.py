"""ScanResult across the containment boundary: plain JSON and a NumPy archive, never pickle.

The contained worker may have run hostile code, so the scanner reads what it sends as untrusted
data: bounded sizes, `allow_pickle=False`, and every field rebuilt through the typed constructors,
which reject anything of the wrong shape. Floats survive JSON exactly (repr round-trips), so the
reports written from a decoded result are the ones the worker's result would have given.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from modelscan_vicious.detectors.calibration import AUXILIARY, CALIBRATION_DATA, CALIBRATION_REFERENCES, SCRATCH
from modelscan_vicious.errors import ContainmentError
from modelscan_vicious.results import (
    ContainmentInfo,
    CostInfo,
    Evidence,
    MitigationResult,
    ModelInfo,
    PluginOutcome,
    ReconstructionResult,
    ScanResult,
    Verdict,
    ViciousnessResult,
)

MAX_RESULT_BYTES = 64 << 20
_EXAMPLES = ("example_originals", "example_reconstructions")


def encode_result(result: ScanResult, folder: Path) -> None:
    """Write `result.json` and `examples.npz` into `folder` (the worker's scratch folder)."""
    document = result.to_dict()
    document["model"] = result.model.to_dict() if result.model else None
    document["model_path"] = result.model_path
    (folder / "result.json").write_text(json.dumps(document, default=_plain), encoding="utf-8")
    examples: dict[str, Any] = {}  # Any: np.savez types **kwds as its own keyword arguments too
    if result.reconstruction is not None:
        for key in _EXAMPLES:
            value = getattr(result.reconstruction, key)
            if value is not None:
                examples[key] = np.asarray(value)
    np.savez(folder / "examples.npz", **examples)


def decode_result(folder: Path) -> ScanResult:
    """Rebuild the ScanResult the worker wrote; ContainmentError when anything is off."""
    try:
        document = json.loads(_bounded_read(folder / "result.json"))
        with np.load(folder / "examples.npz", allow_pickle=False) as archive:
            examples: dict[str, Any] = {key: _image_batch(archive[key]) for key in _EXAMPLES if key in archive.files}
        reconstruction = document["reconstruction"]
        return ScanResult(
            model=_model(document["model"]),
            model_path=str(document["model_path"]),
            viciousness=viciousness_from_dict(document["viciousness"]),
            reconstruction=ReconstructionResult(**reconstruction, **examples) if reconstruction else None,
            verdict=Verdict(**document["verdict"]),
            settings=dict(document["settings"]),
            environment=dict(document["environment"]),
            timings={str(k): float(v) for k, v in document["timings"].items()},
            plugins=[PluginOutcome(**p) for p in document["plugins"]],
            mitigations=[MitigationResult(**m) for m in document["mitigations"]],
            tool_version=str(document["tool_version"]),
            schema_version=str(document["schema_version"]),
            containment=ContainmentInfo(**document["containment"]) if document.get("containment") else None,
            cost=CostInfo(**document["cost"]) if document.get("cost") else None,
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise ContainmentError(f"the contained worker returned a malformed result ({type(err).__name__})") from None


def _model(document: dict[str, Any] | None) -> ModelInfo | None:
    if document is None:
        return None
    return ModelInfo(**{**document, "input_shape": tuple(int(v) for v in document["input_shape"])})


def viciousness_from_dict(document: dict[str, Any] | None) -> ViciousnessResult | None:
    """The detector's result from its JSON form (a worker's message or a saved report)."""
    if document is None:
        return None
    interval = document["interval"]
    return ViciousnessResult(
        probability=document["probability"],
        interval=(float(interval[0]), float(interval[1])) if interval is not None else None,
        evidence=[Evidence(**e) for e in document["evidence"]],
        mode=document["mode"],
        calibration=document["calibration"],
        notes=list(document["notes"]),
        calibration_data=_one_of(document.get("calibration_data", AUXILIARY), CALIBRATION_DATA),  # absent < 1.4.0
        # absent before 1.5.0: every fit was made on from-scratch references
        calibration_references=_one_of(document.get("calibration_references", SCRATCH), CALIBRATION_REFERENCES),
    )


def _one_of(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _image_batch(array: np.ndarray) -> np.ndarray:
    if array.ndim != 4 or array.dtype.kind != "f" or array.size > 64 * 3 * 512 * 512:
        raise ValueError("example images must be a small (n, C, H, W) float array")
    return array


def _bounded_read(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        raise ValueError("result too large")
    return data.decode("utf-8")


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (exact: float32 widens to float64)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")
