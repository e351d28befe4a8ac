"""The state an ONNX -> torch.fx conversion carries from node to node, and the errors it raises.

Operators (the `onnx_graph_*` tables) see an `OnnxNode` (attributes completed with the ONNX schema's
defaults for the model's opset) and a `GraphBuilder` that owns the fx graph being written, the
module that will hold its layers and constant buffers, and the constants folded so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from modelscan_vicious.errors import ModelNotTrainableError

PREFIX = "cannot make a trainable copy: the ONNX operator"


@dataclass(frozen=True)
class OnnxNode:
    """One ONNX node: inputs '' where an optional input is left out, attributes with their defaults."""

    op_type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    opset: int

    def input(self, index: int) -> str:
        return self.inputs[index] if index < len(self.inputs) else ""

    def refuse(self, what: str) -> ModelNotTrainableError:
        """The error for a mode, attribute or input form this converter does not support."""
        return ModelNotTrainableError(f"{PREFIX} {self.op_type} (opset {self.opset}) {what}")


def unsupported_operator(op_type: str, opset: int) -> ModelNotTrainableError:
    return ModelNotTrainableError(f"{PREFIX} {op_type} (opset {opset}) is not supported")


def as_parameter(array: np.ndarray) -> nn.Parameter:
    """A float32 trainable parameter; shares memory with `array` when it already is one (VGG's 400 MB fc6)."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not array.flags.writeable:
        array = array.copy()
    return nn.Parameter(torch.from_numpy(array))


def as_tensor(array: np.ndarray) -> torch.Tensor:
    """A constant as torch keeps it: floats in float32 (the copy trains in float32), other types unchanged."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    return torch.from_numpy(np.array(array, copy=True))


@dataclass
class GraphBuilder:
    """Writes the fx graph: runtime values are fx nodes, constants numpy arrays until a node needs them."""

    opset: int
    fixed_batch: int | None
    constants: dict[str, np.ndarray]
    ranks: dict[str, int]
    consumers: dict[str, list[Any]]
    graph: fx.Graph = field(default_factory=fx.Graph)
    root: nn.Module = field(default_factory=nn.Module)
    values: dict[str, fx.Node] = field(default_factory=dict)
    fused: set[int] = field(default_factory=set)  # ids of NodeProtos another operator already wrote
    _buffers: dict[str, fx.Node] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def constant(self, node: OnnxNode, index: int, what: str) -> np.ndarray:
        """Input `index` as a constant; a runtime value there is a form this converter refuses."""
        name = node.input(index)
        if name not in self.constants:
            raise node.refuse(f"needs a constant {what} (input {index})")
        return self.constants[name]

    def optional_constant(self, node: OnnxNode, index: int, what: str) -> np.ndarray | None:
        return None if not node.input(index) else self.constant(node, index, what)

    def tensor(self, name: str) -> fx.Node:
        """The fx value of `name`: a runtime node, or a constant registered once as a buffer."""
        if name in self.values:
            return self.values[name]
        if name not in self._buffers:
            target = f"const_{len(self._buffers)}"
            self.root.register_buffer(target, as_tensor(self.constants[name]))
            self._buffers[name] = self.graph.get_attr(target)
        return self._buffers[name]

    def input_tensors(self, node: OnnxNode) -> list[fx.Node]:
        return [self.tensor(name) for name in node.inputs if name]

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> fx.Node:
        return self.graph.call_function(function, args, kwargs)

    def layer(self, kind: str, module: nn.Module, *args: fx.Node) -> fx.Node:
        """Add `module` as `<kind>_<n>` and call it: the names `reinitialise` and batch-norm folding see."""
        index = self._counts.get(kind, 0)
        self._counts[kind] = index + 1
        target = f"{kind}_{index}"
        self.root.add_module(target, module)
        return self.graph.call_module(target, args)

    def rank(self, name: str) -> int | None:
        """The rank ONNX shape inference found for `name`, or None."""
        if name in self.constants:
            return self.constants[name].ndim
        return self.ranks.get(name)

    def sole_consumer(self, name: str) -> Any | None:
        """The one node reading `name`, or None (several readers, or a graph output)."""
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and not isinstance(users[0], str) else None


def constant_list(array: np.ndarray | None) -> list[int] | None:
    return None if array is None else [int(v) for v in np.asarray(array).reshape(-1)]


def constant_scalar(array: np.ndarray | None) -> float | None:
    return None if array is None else float(np.asarray(array).reshape(-1)[0])


Converted = fx.Node | tuple[fx.Node, ...]


@dataclass(frozen=True)
class Operator:
    """How one ONNX operator is written, and the attributes it honours (any other must keep its default)."""

    convert: Callable[[GraphBuilder, OnnxNode], Converted]
    attributes: frozenset[str] = frozenset()


def operator(convert: Callable[[GraphBuilder, OnnxNode], Converted], *attributes: str) -> Operator:
    return Operator(convert, frozenset(attributes))
