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
    data_shape: tuple[int, int, int] | None = None,
    device: str = "cpu",
) -> SuspectModel:
    """Load a suspect model. `n_pixels` (a pixel CSV's columns) or `data_shape` (the (C, H, W) of the image
    files a `path,label` CSV lists) help infer the input shape of TorchScript files, which record none."""
    suffix = _checked_suffix(path)
    if suffix in ONNX_SUFFIXES:
        from modelscan_vicious.loading.onnx_model import OnnxSuspectModel

        return OnnxSuspectModel(path, input_shape=input_shape, device=device)
    if suffix in TORCHSCRIPT_SUFFIXES:
        from modelscan_vicious.loading.torchscript_model import TorchScriptSuspectModel

        return TorchScriptSuspectModel(
            path, input_shape=input_shape, n_pixels=n_pixels, data_shape=data_shape, device=device
        )
    raise AssertionError(suffix)  # _checked_suffix allows no other


def inspect_model(path: Path) -> list[Path]:
    """The static checks alone, running nothing of the model: raises ModelLoadError for a file that
    must not run, else returns the other files it may read (ONNX external data, vetted)."""
    if _checked_suffix(path) in ONNX_SUFFIXES:
        from modelscan_vicious.loading.onnx_model import parse_onnx
        from modelscan_vicious.loading.onnx_safety import inspect_onnx

        return inspect_onnx(path, parse_onnx(path)).external_files
    from modelscan_vicious.loading.torchscript_safety import check_archive

    check_archive(path)
    return []


def _checked_suffix(path: Path) -> str:
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a folder, not a model file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"{path}: model file is empty")
    if size > MAX_MODEL_BYTES:
        raise ModelLoadError(f"{path}: {size / 2**20:.0f} MiB exceeds the {MAX_MODEL_BYTES >> 20} MiB limit")
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES or suffix in TORCHSCRIPT_SUFFIXES:
        return suffix
    why = "pickle-based formats can run arbitrary code" if suffix in REFUSED_SUFFIXES else "unknown format"
    raise ModelLoadError(f"{path}: unsupported model file '{suffix}' ({why}); use ONNX (.onnx) or TorchScript (.pt)")
