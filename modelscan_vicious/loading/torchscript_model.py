"""Suspect models stored as TorchScript archives (torch.jit.save), never as pickled checkpoints."""

from __future__ import annotations

import io
import zipfile
import time
from pathlib import Path

import numpy as np

from modelscan_vicious.errors import InputShapeError, ModelLoadError
from modelscan_vicious.loading.base import SuspectModel, check_probe_time, classify_outputs, probe_inputs

ALLOWED_NAMESPACES = {"aten", "prim"}


class TorchScriptSuspectModel(SuspectModel):
    format = "torchscript"

    def __init__(
        self,
        path: Path,
        *,
        input_shape: tuple[int, int, int] | None,
        n_pixels: int | None,
        device: str,
    ) -> None:
        self._path = path  # for error messages raised before SuspectModel.__init__ sets self.path
        self._bytes = path.read_bytes()
        _require_torchscript_archive(path, self._bytes)
        self._device = device
        self._module = self._load()
        _refuse_foreign_operators(path, self._module)
        shape = input_shape or infer_input_shape(path, self._module, n_pixels)
        try:
            start = time.perf_counter()
            outputs = self.predict(probe_inputs(shape), batch_size=16)
            seconds = time.perf_counter() - start
        except Exception as err:  # TorchScript raises RuntimeError with multi-line traces
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise InputShapeError(
                f"{path}: the model rejects input shape {shape} ({first}); pass --input-shape C,H,W"
            ) from err
        check_probe_time(path, seconds)
        if outputs.ndim != 2:
            raise ModelLoadError(f"{path}: expected (N, classes) outputs, got shape {outputs.shape}")
        super().__init__(path, shape, int(outputs.shape[1]), classify_outputs(outputs))

    def _load(self):
        import torch

        try:
            module = torch.jit.load(io.BytesIO(self._bytes), map_location="cpu")
        except Exception as err:
            raise ModelLoadError(f"{self._path}: cannot load TorchScript ({type(err).__name__})") from err
        return module.eval()

    def predict(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        import torch

        module = self._module.to(self._device)
        outs = []
        with torch.inference_mode():
            for i in range(0, len(inputs), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(inputs[i : i + batch_size], dtype=np.float32))
                out = module(batch.to(self._device))
                if isinstance(out, (tuple, list)):
                    out = out[0]
                outs.append(out.float().cpu().numpy())
        return np.concatenate(outs)

    def trainable_copy(self):
        module = self._load()  # a fresh copy from the archive bytes: the black box stays untouched
        for param in module.parameters():
            param.requires_grad_(True)
        return module


def _require_torchscript_archive(path: Path, data: bytes) -> None:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        raise ModelLoadError(
            f"{path}: not a TorchScript archive (old-style pickled checkpoint or corrupt file); "
            "export with torch.jit.save or to ONNX"
        ) from None
    has_code = any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)
    if not has_code:
        raise ModelLoadError(
            f"{path}: a pickled PyTorch checkpoint (torch.save), not TorchScript; refusing to unpickle it; "
            "export with torch.jit.save or to ONNX"
        )


def _refuse_foreign_operators(path: Path, module) -> None:
    try:
        graph = module.inlined_graph
    except Exception as err:
        raise ModelLoadError(f"{path}: TorchScript module has no inspectable forward graph") from err
    foreign = sorted({n.kind() for n in _all_nodes(graph) if n.kind().split("::")[0] not in ALLOWED_NAMESPACES})
    if foreign:
        raise ModelLoadError(f"{path}: refusing TorchScript with non-standard operators ({', '.join(foreign[:5])})")


def _all_nodes(graph):
    for node in graph.nodes():
        yield node
        for block in node.blocks():
            yield from _all_nodes(block)


def infer_input_shape(path: Path, module, n_pixels: int | None) -> tuple[int, int, int]:
    """Traced TorchScript records no input shape: derive it from the first weight and the data's pixel count."""
    first = next((p for p in module.parameters() if p.dim() in (2, 4)), None)
    if first is None or n_pixels is None:
        raise InputShapeError(f"{path}: cannot infer the input shape; pass --input-shape C,H,W")
    channels = int(first.shape[1]) if first.dim() == 4 else _channels_for_flat(n_pixels)
    if first.dim() == 2 and int(first.shape[1]) != n_pixels:
        raise InputShapeError(
            f"{path}: first layer takes {int(first.shape[1])} features but the data has {n_pixels} pixels"
        )
    side = int(round(np.sqrt(n_pixels / channels)))
    if channels * side * side != n_pixels:
        raise InputShapeError(f"{path}: {n_pixels} pixels are not a square {channels}-channel image; pass --input-shape")
    return (channels, side, side)


def _channels_for_flat(n_pixels: int) -> int:
    side = np.sqrt(n_pixels)
    return 1 if side == int(side) else 3
