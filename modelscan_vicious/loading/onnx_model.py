"""Suspect models stored as ONNX: parsed as protobuf (never unpickled), run with onnxruntime."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from modelscan_vicious.errors import InputShapeError, ModelLoadError, raise_if_out_of_memory
from modelscan_vicious.loading.base import (
    SuspectModel,
    check_probe_outputs,
    check_probe_time,
    classifier_outputs,
    classify_outputs,
    probe_inputs,
)
from modelscan_vicious.loading.onnx_safety import inspect_onnx


class OnnxSuspectModel(SuspectModel):
    format = "onnx"

    def __init__(self, path: Path, *, input_shape: tuple[int, int, int] | None, device: str) -> None:
        self._path = path
        self._proto = parse_onnx(path)
        self.external_files = inspect_onnx(path, self._proto).external_files
        _load_external_data(path, self._proto, self.external_files)
        _refuse_unsafe(path, self._proto)
        self._session = _session(path, self._proto, device)
        graph_input = self._session.get_inputs()[0]
        self._input_name = graph_input.name
        self._input_rank = len(graph_input.shape)
        self._fixed_batch = graph_input.shape[0] if isinstance(graph_input.shape[0], int) else None
        shape = _input_shape(path, graph_input.shape, input_shape)
        start = time.perf_counter()
        outputs = self._run(probe_inputs(shape), shape, path)
        check_probe_time(path, time.perf_counter() - start)
        check_probe_outputs(path, outputs)
        super().__init__(path, shape, int(outputs.shape[1]), classify_outputs(outputs))

    def _run(self, inputs: np.ndarray, shape: tuple[int, int, int], path: Path) -> np.ndarray:
        try:
            return self.predict(inputs)  # predict, not predict_raw: it honours a fixed batch dimension
        except ModelLoadError:
            raise
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise_if_out_of_memory(path, err)
            raise InputShapeError(f"{path}: the model rejects inputs of shape {shape} ({_first_line(err)})") from err

    def predict_raw(self, inputs: np.ndarray) -> np.ndarray:
        feed = inputs.reshape(len(inputs), -1) if self._input_rank == 2 else inputs
        out = self._session.run(None, {self._input_name: np.ascontiguousarray(feed, dtype=np.float32)})[0]
        return classifier_outputs(self._path, out)

    def predict(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        step = self._fixed_batch or batch_size
        return np.concatenate([self._predict_chunk(inputs[i : i + step]) for i in range(0, len(inputs), step)])

    def _predict_chunk(self, chunk: np.ndarray) -> np.ndarray:
        """A graph exported with a fixed batch size only takes full batches: zero-pad the last one."""
        n = len(chunk)
        if self._fixed_batch and n < self._fixed_batch:
            padding = np.zeros((self._fixed_batch - n, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = np.concatenate([chunk, padding])
        return self.predict_raw(chunk)[:n]

    def trainable_copy(self):
        from modelscan_vicious.loading.onnx_to_torch import onnx_to_torch

        module = onnx_to_torch(self._proto)
        if self._input_rank == 2:
            import torch

            return torch.nn.Sequential(torch.nn.Flatten(), module)
        return module


def parse_onnx(path: Path):
    import onnx
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(str(path), load_external_data=False)  # external data only after inspect_onnx
    except (DecodeError, ValueError, OSError, RuntimeError) as err:
        raise ModelLoadError(f"{path}: not a valid ONNX file ({_first_line(err)})") from err


def _load_external_data(path: Path, proto, files: list[Path]) -> None:
    """Read the external data `inspect_onnx` vetted (regular files in the model's folder, sizes checked)."""
    if not files:
        return
    from onnx.external_data_helper import load_external_data_for_model

    try:
        load_external_data_for_model(proto, str(path.parent))
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{path}: cannot read ONNX external data ({_first_line(err)})") from err


def _refuse_unsafe(path: Path, proto) -> None:
    import onnx

    if len(proto.graph.output) != 1:
        raise ModelLoadError(f"{path}: the model has {len(proto.graph.output)} outputs; a classifier has exactly one")
    if not _has_weights(proto):
        raise ModelLoadError(f"{path}: the model has no weights: nothing trainable to compare with honest training")
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as err:
        raise ModelLoadError(f"{path}: invalid ONNX graph ({_first_line(err)})") from err
    if len(proto.graph.input) - len(proto.graph.initializer) > 1 and _n_real_inputs(proto) != 1:
        raise ModelLoadError(f"{path}: expected a classifier with one image input, found {_n_real_inputs(proto)}")


_FLOAT_TYPES = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _has_weights(proto) -> bool:
    """A float tensor of more than one element among the initializers or Constant values, or one that
    ConstantOfShape fills from a constant shape (how the ONNX model zoo's "light" models hold theirs)."""
    constants = {t.name: t for t in proto.graph.initializer}
    for node in proto.graph.node:
        for attribute in node.attribute if node.op_type == "Constant" else []:
            if attribute.HasField("t"):
                constants[node.output[0]] = attribute.t
    if any(t.data_type in _FLOAT_TYPES and math.prod(t.dims) > 1 for t in constants.values()):
        return True
    return any(_filled_size(node, constants) > 1 for node in proto.graph.node if node.op_type == "ConstantOfShape")


def _filled_size(node, constants: dict) -> int:
    """Elements of the float tensor a ConstantOfShape node fills from a constant shape; 0 otherwise."""
    from onnx import numpy_helper

    value = next((a.t for a in node.attribute if a.name == "value"), None)
    shape = constants.get(node.input[0]) if node.input else None
    if (value is not None and value.data_type not in _FLOAT_TYPES) or shape is None or math.prod(shape.dims) > 8:
        return 0  # an integer fill, a runtime shape, or a "shape" too long to be one
    return math.prod(int(d) for d in numpy_helper.to_array(shape).reshape(-1))


def _n_real_inputs(proto) -> int:
    initializers = {t.name for t in proto.graph.initializer}
    return sum(1 for i in proto.graph.input if i.name not in initializers)


def session_providers(device: str, available: list[str]) -> list[str]:
    """onnxruntime providers for `device`: CUDA first where this onnxruntime build has it (asking a
    CPU-only build for CUDA prints a warning on every session, seen on a GPU machine), then CPU."""
    cuda = ["CUDAExecutionProvider"] if device == "cuda" and "CUDAExecutionProvider" in available else []
    return [*cuda, "CPUExecutionProvider"]


def _session(path: Path, proto, device: str):
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # keep CUDA provider warnings out of the user's terminal
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Few threads and no spin-waiting: the scan trains PyTorch models between queries, and spinning
    # onnxruntime workers would steal those cores (measured: about 25x slower on 2 cores).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    providers = session_providers(device, ort.get_available_providers())
    try:
        return ort.InferenceSession(proto.SerializeToString(), sess_options=options, providers=providers)
    except Exception as err:
        raise ModelLoadError(f"{path}: onnxruntime cannot load the model ({_first_line(err)})") from err


def _input_shape(path: Path, declared: list, given: tuple[int, int, int] | None) -> tuple[int, int, int]:
    dims = [d if isinstance(d, int) else None for d in declared[1:]]
    if len(declared) == 4 and all(dims):
        shape = tuple(dims)
        if given is not None and tuple(given) != shape:
            raise InputShapeError(f"{path}: --input-shape {given} differs from the model's declared {shape}")
        return shape  # type: ignore[return-value]
    if given is not None:
        return given
    if len(declared) == 2 and dims[0]:
        side = int(round(np.sqrt(dims[0])))
        if side * side == dims[0]:
            return (1, side, side)
    raise InputShapeError(f"{path}: input shape {declared} is not (N, C, H, W); pass --input-shape C,H,W")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__
