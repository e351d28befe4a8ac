"""What an ONNX file may contain before any of it runs: operators, external data and size bounds.

Walks the main graph, every subgraph attribute (If/Loop/Scan bodies, at any depth) and every
model-local function. Parsing a protobuf runs nothing; this check decides whether onnxruntime and
the converter ever see the model.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TypeVar

from modelscan_vicious.errors import ModelLoadError

STANDARD_DOMAINS = ("", "ai.onnx")
# Standard operators are pure functions by the ONNX spec, except these: they draw random numbers,
# so the same input gives different outputs, which a scan cannot compare and an attacker can exploit.
RANDOM_OPERATORS = frozenset(
    {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"}
)
# Bounds far above any image classifier we target (ResNet-50: 122 nodes; DenseNet-121: 910;
# VGG-19: 548 MiB of weights) and far below what would exhaust the scanner before the runtime limits do.
MAX_NODES = 100_000
MAX_SUBGRAPH_DEPTH = 16
MAX_CONSTANT_BYTES = 2 << 30


@dataclass
class OnnxInspection:
    """What the static walk found: the external data files the model may read, and sizes."""

    external_files: list[Path] = field(default_factory=list)
    n_nodes: int = 0
    constant_bytes: int = 0


def inspect_onnx(path: Path, proto) -> OnnxInspection:
    """Refuse anything that is not a plain graph of standard, deterministic operators; raise ModelLoadError."""
    found = OnnxInspection()
    local_functions = {(f.domain, f.name) for f in proto.functions}
    for graph_name, nodes, initializers, depth in _graphs(proto):
        if depth > MAX_SUBGRAPH_DEPTH:
            raise ModelLoadError(
                f"{path}: refusing ONNX with subgraphs nested {depth} deep (depth limit {MAX_SUBGRAPH_DEPTH})"
            )
        for tensor in initializers:
            found.constant_bytes += _declared_bytes(path, tensor)
            if _is_external(tensor) and graph_name != "main graph":
                raise ModelLoadError(
                    f"{path}: refusing ONNX external data inside {graph_name} (tensor {tensor.name!r}); "
                    "exporters put it only on the main graph's initializers"
                )
        for node in nodes:
            found.n_nodes += 1
            _check_operator(path, node, graph_name, local_functions)
            found.constant_bytes += _check_attributes(path, node, graph_name)
        if found.n_nodes > MAX_NODES:
            raise ModelLoadError(f"{path}: refusing ONNX graph with more than {MAX_NODES} nodes")
    if found.constant_bytes > MAX_CONSTANT_BYTES:
        raise ModelLoadError(
            f"{path}: refusing ONNX whose constant tensors declare {found.constant_bytes / 2**30:.1f} GiB "
            f"(limit {MAX_CONSTANT_BYTES >> 30} GiB)"
        )
    found.external_files = _check_external_data(path, proto)
    return found


def _graphs(proto):
    """(name, nodes, initializers, depth) of the main graph, every function and every nested subgraph."""
    pending = [("main graph", proto.graph.node, [*proto.graph.initializer, *_sparse(proto.graph)], 0)]
    pending += [(f"function {f.domain}:{f.name}", f.node, [], 0) for f in proto.functions]
    while pending:
        name, nodes, initializers, depth = pending.pop()
        yield name, nodes, initializers, depth
        for node in nodes:
            for attribute in node.attribute:
                for subgraph in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
                    where = f"subgraph {attribute.name!r} of node {node.name or node.op_type!r}"
                    pending.append((where, subgraph.node, [*subgraph.initializer, *_sparse(subgraph)], depth + 1))


def _sparse(graph) -> list:
    return [t for sparse in graph.sparse_initializer for t in (sparse.values, sparse.indices)]


def _check_operator(path: Path, node, graph_name: str, local_functions: set[tuple[str, str]]) -> None:
    if (node.domain, node.op_type) in local_functions:
        return  # its own nodes are walked as a function graph
    if node.domain not in STANDARD_DOMAINS:
        raise ModelLoadError(
            f"{path}: refusing ONNX operator {node.domain}::{node.op_type} in {graph_name} (custom operator domain)"
        )
    if node.op_type in RANDOM_OPERATORS:
        raise ModelLoadError(
            f"{path}: refusing ONNX operator {node.op_type} in {graph_name} "
            "(random sampling: the same input would give different outputs)"
        )
    if not _is_standard(node.op_type):
        raise ModelLoadError(
            f"{path}: refusing ONNX operator {node.op_type!r} in {graph_name} (not a standard operator)"
        )


def _is_standard(op_type: str) -> bool:
    import onnx.defs

    return onnx.defs.has(op_type, "")


def _check_attributes(path: Path, node, graph_name: str) -> int:
    """Tensor-valued attributes (a Constant's `value`, ...): never external; returns their declared bytes."""
    total = 0
    for attribute in node.attribute:
        tensors = [*([attribute.t] if attribute.HasField("t") else []), *attribute.tensors]
        if attribute.HasField("sparse_tensor"):
            tensors += [attribute.sparse_tensor.values, attribute.sparse_tensor.indices]
        for tensor in tensors:
            if _is_external(tensor):
                raise ModelLoadError(
                    f"{path}: refusing ONNX external data on a node attribute (node "
                    f"{node.name or node.op_type!r}, attribute {attribute.name!r}, {graph_name})"
                )
            total += _declared_bytes(path, tensor)
    return total


def _is_external(tensor) -> bool:
    import onnx

    return tensor.data_location == onnx.TensorProto.EXTERNAL or bool(tensor.external_data)


def _declared_bytes(path: Path, tensor) -> int:
    import onnx

    if tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        return len(tensor.raw_data) + sum(len(s) for s in tensor.string_data)
    if any(d < 0 for d in tensor.dims):
        raise ModelLoadError(
            f"{path}: refusing ONNX tensor {tensor.name!r} with negative dimensions {list(tensor.dims)}"
        )
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    return math.prod(tensor.dims) * itemsize


def _check_external_data(path: Path, proto) -> list[Path]:
    """External data only on main-graph initializers, only as regular files inside the model's own folder,
    each the exact size its tensor declares. Returns the files, which are the only ones the model may read."""
    folder = Path(os.path.realpath(path.parent))
    files: dict[Path, int] = {}
    for tensor in proto.graph.initializer:
        if not _is_external(tensor):
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        if (
            not location
            or PurePosixPath(location).is_absolute()
            or PureWindowsPath(location).drive
            or ".." in PurePosixPath(location.replace("\\", "/")).parts
        ):
            raise ModelLoadError(
                f"{path}: refusing ONNX external data location {location!r} for tensor {tensor.name!r} "
                "(absolute, empty or leaving the model's folder)"
            )
        target = Path(os.path.realpath(folder / location))
        if os.path.commonpath([folder, target]) != str(folder):
            raise ModelLoadError(
                f"{path}: refusing ONNX external data {location!r}: it resolves outside the model's "
                "folder (symbolic link)"
            )
        size = _regular_file_size(path, target, location)
        offset, length = _int_entry(path, entries, "offset", 0), _int_entry(path, entries, "length", None)
        needed = _declared_bytes(path, tensor)
        if length is not None and length != needed:
            raise ModelLoadError(
                f"{path}: refusing ONNX external data for tensor {tensor.name!r}: length {length} "
                f"bytes but the tensor needs {needed}"
            )
        if offset + needed > size:
            raise ModelLoadError(
                f"{path}: refusing ONNX external data {location!r}: tensor {tensor.name!r} needs bytes "
                f"{offset}-{offset + needed} but the file has {size}"
            )
        files[target] = size
    return sorted(files)


def _regular_file_size(path: Path, target: Path, location: str) -> int:
    try:
        info = os.stat(target)
    except OSError:
        raise ModelLoadError(f"{path}: ONNX external data file {location!r} is missing") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelLoadError(f"{path}: refusing ONNX external data {location!r}: not a regular file")
    return info.st_size


_Default = TypeVar("_Default", int, None)


def _int_entry(path: Path, entries: dict[str, str], key: str, default: _Default) -> int | _Default:
    if key not in entries:
        return default
    value = entries[key]
    if not value.isdigit():
        raise ModelLoadError(f"{path}: refusing ONNX external data with {key} {value!r}")
    return int(value)
