"""Suspect models stored as TorchScript archives (torch.jit.save), never as pickled checkpoints."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from modelscan_vicious.errors import (
    InputShapeError,
    ModelLoadError,
    ModelNotTrainableError,
    first_line,
    raise_if_out_of_memory,
)
from modelscan_vicious.loading.base import (
    SuspectModel,
    check_probe_outputs,
    check_probe_time,
    classifier_outputs,
    classify_outputs,
    probe_inputs,
)
from modelscan_vicious.loading.torchscript_safety import check_archive, check_loaded_module


class TorchScriptSuspectModel(SuspectModel):
    format = "torchscript"

    def __init__(
        self,
        path: Path,
        *,
        input_shape: tuple[int, int, int] | None,
        n_pixels: int | None,
        device: str,
        data_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self._path = path  # for error messages raised before SuspectModel.__init__ sets self.path
        check_archive(path)  # before a byte is inflated or loaded
        self._bytes = path.read_bytes()
        self._device = device
        self._module = self._load()
        check_loaded_module(path, self._module)  # before the first call
        if not any(
            t.is_floating_point() and t.numel() > 1 for t in [*self._module.parameters(), *self._module.buffers()]
        ):
            raise ModelLoadError(f"{path}: the model has no weights: nothing trainable to compare with honest training")
        shape = input_shape or infer_input_shape(path, self._module, n_pixels, data_shape)
        try:
            start = time.perf_counter()
            outputs = self.predict(probe_inputs(shape), batch_size=16)
            seconds = time.perf_counter() - start
        except ModelLoadError:
            raise
        except Exception as err:  # TorchScript raises RuntimeError with multi-line traces
            raise_if_out_of_memory(path, err)
            raise InputShapeError(
                f"{path}: the model rejects input shape {shape} ({first_line(err, 200)}); pass --input-shape C,H,W"
            ) from err
        check_probe_time(path, seconds)
        check_probe_outputs(path, outputs)
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
                if isinstance(out, (tuple, list, dict)) or not isinstance(out, torch.Tensor):
                    raise ModelLoadError(
                        f"{self._path}: the model returns {type(out).__name__} outputs; a classifier returns one tensor"
                    )
                outs.append(classifier_outputs(self._path, out.float().cpu().numpy()))
        return np.concatenate(outs)

    def trainable_copy(self):
        module = self._load()  # a fresh copy from the archive bytes: the black box stays untouched
        if not list(module.parameters()):
            raise ModelNotTrainableError(
                "the TorchScript module holds its weights as buffers, not trainable parameters"
            )
        for param in module.parameters():
            param.requires_grad_(True)
        return module


def infer_input_shape(
    path: Path, module, n_pixels: int | None, data_shape: tuple[int, int, int] | None = None
) -> tuple[int, int, int]:
    """Traced TorchScript records no input shape: derive it from the first weight and the data, either the
    pixel count of a pixel CSV or the (C, H, W) of the image files a `path,label` CSV lists."""
    first = next((p for p in module.parameters() if p.dim() in (2, 4)), None)
    if first is not None and data_shape is not None:
        channels = int(first.shape[1]) if first.dim() == 4 else data_shape[0]
        features = int(np.prod(data_shape[1:])) * channels
        if first.dim() == 4 or int(first.shape[1]) == features:  # images are converted to the model's channels
            return (channels, data_shape[1], data_shape[2])
        n_pixels = int(first.shape[1])
    if first is None or n_pixels is None:
        raise InputShapeError(f"{path}: cannot infer the input shape; pass --input-shape C,H,W")
    channels = int(first.shape[1]) if first.dim() == 4 else _channels_for_flat(n_pixels)
    if first.dim() == 2 and int(first.shape[1]) != n_pixels:
        raise InputShapeError(
            f"{path}: first layer takes {int(first.shape[1])} features but the data has {n_pixels} pixels"
        )
    side = int(round(np.sqrt(n_pixels / channels)))
    if channels * side * side != n_pixels:
        raise InputShapeError(
            f"{path}: {n_pixels} pixels are not a square {channels}-channel image; pass --input-shape"
        )
    return (channels, side, side)


def _channels_for_flat(n_pixels: int) -> int:
    side = np.sqrt(n_pixels)
    return 1 if side == int(side) else 3
