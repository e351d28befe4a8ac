"""ONNX operators that move, select or reduce tensor elements, as torch functions.

Shapes may be runtime tensors (a dynamic-batch export computes `x.view(x.size(0), -1)` with
Shape -> Gather -> Concat -> Reshape), so the helpers here accept a list or an int64 tensor.

Fixed batch dimension: a graph exported with batch B0 often hard-codes it (Reshape to [1, -1]).
When the graph input's batch is fixed at B0, a constant Reshape or Expand target whose first
entry equals B0 takes the runtime batch of its data input instead, so the copy trains on
mini-batches; ONNX shapes never move the batch axis in a classifier, so this is the same graph.
Likewise, with B0 = 1, a constant concatenated to runtime values along another axis (a vision
transformer's class token, its `expand(batch, ...)` folded away by the exporter) is repeated over
the runtime batch.
"""

from __future__ import annotations

import math
import operator as python_operator
from typing import Any

import numpy as np
import torch
from onnx import numpy_helper

from modelscan_vicious.loading.onnx_graph_builder import (
    Converted,
    GraphBuilder,
    OnnxNode,
    Operator,
    constant_list,
    operator,
)

Ints = list[int] | torch.Tensor


def int_values(value: Ints) -> list[int]:
    return [int(v) for v in value.reshape(-1).tolist()] if isinstance(value, torch.Tensor) else list(value)


def flatten(x: torch.Tensor, axis: int) -> torch.Tensor:
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), -1)


def reshape(x: torch.Tensor, shape: Ints, allowzero: int, follow_batch: bool) -> torch.Tensor:
    dims = int_values(shape)
    if not allowzero:  # 0 copies the input's dimension
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    if follow_batch:
        dims[0] = x.shape[0]
    return x.reshape(dims)


def expand(x: torch.Tensor, shape: Ints, follow_batch: bool) -> torch.Tensor:
    dims = int_values(shape)
    if follow_batch and len(dims) == x.dim():
        dims[0] = 1  # broadcasting then keeps the data input's batch
    return x.expand(torch.broadcast_shapes(x.shape, tuple(dims)))


def transpose(x: torch.Tensor, perm: list[int] | None) -> torch.Tensor:
    return x.permute(perm if perm is not None else list(range(x.dim() - 1, -1, -1)))


def squeeze(x: torch.Tensor, axes: Ints | None) -> torch.Tensor:
    return x.squeeze() if axes is None else x.squeeze(tuple(int_values(axes)))


def unsqueeze(x: torch.Tensor, axes: Ints) -> torch.Tensor:
    rank = x.dim() + len(int_values(axes))
    for axis in sorted(a + rank if a < 0 else a for a in int_values(axes)):
        x = x.unsqueeze(axis)
    return x


def split(x: torch.Tensor, axis: int, sizes: Ints | None, n_outputs: int) -> tuple[torch.Tensor, ...]:
    if sizes is None:  # equal parts, the last one smaller where the dimension does not divide
        return torch.split(x, math.ceil(x.shape[axis] / n_outputs), dim=axis)
    return torch.split(x, int_values(sizes), dim=axis)


def _slice_bounds(start: int, end: int, step: int, size: int) -> tuple[int, int]:
    """ONNX clamping: negative bounds count from the end; a negative step may end at -1 (before 0)."""
    start, end = (v + size if v < 0 else v for v in (start, end))
    if step > 0:
        return min(max(start, 0), size), min(max(end, 0), size)
    return min(max(start, 0), size - 1), min(max(end, -1), size - 1)


def slice_tensor(x: torch.Tensor, starts: Ints, ends: Ints, axes: Ints | None, steps: Ints | None) -> torch.Tensor:
    starts, ends = int_values(starts), int_values(ends)
    axes_ = int_values(axes) if axes is not None else list(range(len(starts)))
    steps_ = int_values(steps) if steps is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes_, steps_):
        axis = axis + x.dim() if axis < 0 else axis
        first, last = _slice_bounds(start, end, step, x.shape[axis])
        if step > 0:
            x = x[(slice(None),) * axis + (slice(first, last, step),)]
        else:  # torch has no negative-step slicing
            index = torch.arange(first, last, step, device=x.device)
            x = x.index_select(axis, index)
    return x


def gather(x: torch.Tensor, indices: torch.Tensor, axis: int) -> torch.Tensor:
    axis = axis + x.dim() if axis < 0 else axis
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    picked = x.index_select(axis, indices.reshape(-1))
    return picked.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])


def shape_of(x: torch.Tensor, start: int, end: int | None) -> torch.Tensor:
    return torch.tensor(x.shape[start:end], dtype=torch.int64, device=x.device)


def constant_of_shape(shape: torch.Tensor, value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.full(int_values(shape), value, dtype=dtype, device=shape.device)


def reduce(x: torch.Tensor, kind: str, axes: Ints | None, keepdims: int, noop: int) -> torch.Tensor:
    dims = int_values(axes) if axes is not None else []
    if not dims and noop:
        return x
    dims = dims or list(range(x.dim()))
    function = getattr(torch, {"mean": "mean", "sum": "sum", "max": "amax", "min": "amin"}[kind])
    return function(x, dim=dims, keepdim=bool(keepdims))


def _shape_input(b: GraphBuilder, n: OnnxNode, index: int) -> Any:
    """A shape-like input: a literal list when constant, else the runtime int64 tensor."""
    name = n.input(index)
    if not name:
        return None
    return constant_list(b.constants[name]) if name in b.constants else b.tensor(name)


def _follows_batch(b: GraphBuilder, n: OnnxNode, shape: Any) -> bool:
    """The fixed-batch rule of the module docstring."""
    return b.fixed_batch is not None and isinstance(shape, list) and len(shape) > 0 and shape[0] == b.fixed_batch


def _reshape(b: GraphBuilder, n: OnnxNode) -> Converted:
    shape = _shape_input(b, n, 1)
    allowzero = int(n.attrs.get("allowzero", 0))
    return b.call(reshape, b.tensor(n.inputs[0]), shape, allowzero, _follows_batch(b, n, shape))


def _expand(b: GraphBuilder, n: OnnxNode) -> Converted:
    shape = _shape_input(b, n, 1)
    return b.call(expand, b.tensor(n.inputs[0]), shape, _follows_batch(b, n, shape))


def _axes(b: GraphBuilder, n: OnnxNode, attribute_until: int) -> Any:
    """`axes` as an attribute before opset `attribute_until`, as input 1 from then on."""
    if n.opset < attribute_until:
        axes = n.attrs.get("axes")
        return None if axes is None else list(axes)
    return _shape_input(b, n, 1)


def concat(tensors: list[torch.Tensor], axis: int, repeated: list[bool]) -> torch.Tensor:
    """torch.cat, the `repeated` (batch-1 constant) inputs first repeated over the runtime batch."""
    batch = next(t.shape[0] for t, r in zip(tensors, repeated) if not r)
    return torch.cat([t.expand(batch, *t.shape[1:]) if r else t for t, r in zip(tensors, repeated)], axis)


def _concat(b: GraphBuilder, n: OnnxNode) -> Converted:
    axis, names = int(n.attrs["axis"]), [name for name in n.inputs if name]
    rank = b.rank(names[0])
    if b.fixed_batch == 1 and rank and axis % rank != 0 and not all(b.is_constant(name) for name in names):
        repeated = [b.is_constant(name) and b.constants[name].shape[0] == 1 for name in names]
        if any(repeated):
            return b.call(concat, b.input_tensors(n), axis, repeated)
    return b.call(torch.cat, b.input_tensors(n), axis)


def _split(b: GraphBuilder, n: OnnxNode) -> Converted:
    sizes = n.attrs.get("split") if n.opset < 13 else _shape_input(b, n, 1)
    parts = b.call(split, b.tensor(n.inputs[0]), int(n.attrs["axis"]), sizes or None, len(n.outputs))
    return tuple(b.call(python_operator.getitem, parts, i) for i in range(len(n.outputs)))


def _slice(b: GraphBuilder, n: OnnxNode) -> Converted:
    x = b.tensor(n.inputs[0])
    if n.opset < 10:
        axes = n.attrs.get("axes")
        return b.call(slice_tensor, x, list(n.attrs["starts"]), list(n.attrs["ends"]), axes and list(axes), None)
    bounds = [_shape_input(b, n, i) for i in (1, 2, 3, 4)]
    return b.call(slice_tensor, x, *bounds)


def _constant_of_shape(b: GraphBuilder, n: OnnxNode) -> Converted:
    value = n.attrs.get("value")
    array = numpy_helper.to_array(value) if value is not None else np.zeros(1, dtype=np.float32)
    dtype = torch.from_numpy(np.empty(0, np.float32 if array.dtype.kind == "f" else array.dtype)).dtype
    return b.call(constant_of_shape, b.tensor(n.inputs[0]), array.reshape(-1)[0].item(), dtype)


def _reduce(kind: str, axes_input_from: int) -> Operator:
    def convert(b: GraphBuilder, n: OnnxNode) -> Converted:
        axes = _axes(b, n, axes_input_from)
        noop = int(n.attrs.get("noop_with_empty_axes", 0))
        return b.call(reduce, b.tensor(n.inputs[0]), kind, axes, int(n.attrs["keepdims"]), noop)

    return operator(convert, "axes", "keepdims", "noop_with_empty_axes")


def _start_end(n: OnnxNode) -> tuple[int, int | None]:
    end = n.attrs.get("end")
    return int(n.attrs.get("start", 0)), None if end is None else int(end)


OPERATORS: dict[str, Operator] = {
    "Flatten": operator(lambda b, n: b.call(flatten, b.tensor(n.inputs[0]), int(n.attrs["axis"])), "axis"),
    "Reshape": operator(_reshape, "allowzero"),
    "Expand": operator(_expand),
    "Transpose": operator(
        lambda b, n: b.call(transpose, b.tensor(n.inputs[0]), n.attrs.get("perm") and list(n.attrs["perm"])), "perm"
    ),
    "Squeeze": operator(lambda b, n: b.call(squeeze, b.tensor(n.inputs[0]), _axes(b, n, 13)), "axes"),
    "Unsqueeze": operator(lambda b, n: b.call(unsqueeze, b.tensor(n.inputs[0]), _axes(b, n, 13)), "axes"),
    "Concat": operator(_concat, "axis"),
    "Split": operator(_split, "axis", "split", "num_outputs"),
    "Slice": operator(_slice, "starts", "ends", "axes"),
    "Gather": operator(
        lambda b, n: b.call(gather, b.tensor(n.inputs[0]), b.tensor(n.inputs[1]), int(n.attrs["axis"])), "axis"
    ),
    "Shape": operator(lambda b, n: b.call(shape_of, b.tensor(n.inputs[0]), *_start_end(n)), "start", "end"),
    "ConstantOfShape": operator(_constant_of_shape, "value"),
    "ReduceMean": _reduce("mean", 18),
    "ReduceSum": _reduce("sum", 13),
    "ReduceMax": _reduce("max", 18),
    "ReduceMin": _reduce("min", 18),
}
