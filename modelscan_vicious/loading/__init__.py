"""Loading untrusted suspect classifiers: ONNX or TorchScript, nothing that needs unpickling."""

from __future__ import annotations

from pathlib import Path

from modelscan_vicious.errors import ModelLoadError
from modelscan_vicious.loading.base import MAX_MODEL_BYTES, SuspectModel

ONNX_SUFFIXES = {".onnx"}
TORCHSCRIPT_SUFFIXES = {".pt", ".pth", ".ts", ".torchscript"}
REFUSED_SUFFIXES = {".pkl", ".pickle", ".bin", ".ckpt", ".safetensors", ".h5", ".keras", ".joblib"}


def load_model(
    path: Path,
    *,
    input_shape: tuple[int, int, int] | None = None,
    n_pixels: int | None = None,
    device: str = "cpu",
) -> SuspectModel:
    """Load a suspect model. `n_pixels` (from the labelled CSV) helps infer TorchScript input shapes."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"{path}: model file is empty")
    if size > MAX_MODEL_BYTES:
        raise ModelLoadError(f"{path}: {size / 2**20:.0f} MiB exceeds the {MAX_MODEL_BYTES >> 20} MiB limit")
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        from modelscan_vicious.loading.onnx_model import OnnxSuspectModel

        return OnnxSuspectModel(path, input_shape=input_shape, device=device)
    if suffix in TORCHSCRIPT_SUFFIXES:
        from modelscan_vicious.loading.torchscript_model import TorchScriptSuspectModel

        return TorchScriptSuspectModel(path, input_shape=input_shape, n_pixels=n_pixels, device=device)
    why = "pickle-based formats can run arbitrary code" if suffix in REFUSED_SUFFIXES else "unknown format"
    raise ModelLoadError(f"{path}: unsupported model file '{suffix}' ({why}); use ONNX (.onnx) or TorchScript (.pt)")
