"""ONNX operators over spatial windows (pooling, LRN, padding, resizing) as torch functions.

torch pools take one symmetric padding of at most half the kernel; ONNX allows begin/end pads of
any size and SAME padding computed from the input size, so those go through an explicit F.pad.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from modelscan_vicious.loading.onnx_graph_builder import (
    Converted,
    GraphBuilder,
    OnnxNode,
    Operator,
    constant_list,
    constant_scalar,
    operator,
)
from modelscan_vicious.loading.onnx_graph_shapes import Ints, int_values

_POOLS = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d, ("max", 3): F.max_pool3d}
_AVERAGES = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def resolve_pads(
    x: torch.Tensor, kernel: list[int], strides: list[int], dilations: list[int], pads: list[int], auto_pad: str
) -> list[int]:
    """ONNX pads [begin..., end...]; SAME_* pads from the runtime input size, the odd pixel at the end (UPPER)."""
    if auto_pad == "NOTSET":
        return pads
    if auto_pad == "VALID":
        return [0] * (2 * len(kernel))
    totals = [
        max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations)
    ]
    small, large = [t // 2 for t in totals], [t - t // 2 for t in totals]
    return small + large if auto_pad == "SAME_UPPER" else large + small


def torch_pads(begins: list[int], ends: list[int]) -> list[int]:
    """F.pad's order: last dimension first, (begin, end) pairs."""
    return [p for i in reversed(range(len(begins))) for p in (begins[i], ends[i])]


def pool(
    x: torch.Tensor,
    kind: str,
    kernel: list[int],
    strides: list[int],
    dilations: list[int],
    pads: list[int],
    auto_pad: str,
    ceil_mode: int,
    count_include_pad: int,
) -> torch.Tensor:
    n = len(kernel)
    pads = resolve_pads(x, kernel, strides, dilations, pads, auto_pad)
    begins, ends = pads[:n], pads[n:]
    if begins == ends and all(p <= k // 2 for p, k in zip(begins, kernel)):
        if kind == "max":
            return _POOLS["max", n](x, kernel, strides, begins, dilations, ceil_mode=bool(ceil_mode))
        return _AVERAGES[n](
            x, kernel, strides, begins, ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad)
        )
    pairs = torch_pads(begins, ends)
    if kind == "max":
        return _POOLS["max", n](
            F.pad(x, pairs, value=-math.inf), kernel, strides, 0, dilations, ceil_mode=bool(ceil_mode)
        )
    summed = _AVERAGES[n](F.pad(x, pairs), kernel, strides, 0, ceil_mode=bool(ceil_mode), count_include_pad=True)
    if count_include_pad:
        return summed
    # the share of each window that lies on the input, to average over real pixels only
    inside = F.pad(torch.ones_like(x[:1, :1]), pairs)
    return summed / _AVERAGES[n](inside, kernel, strides, 0, ceil_mode=bool(ceil_mode), count_include_pad=True)


def global_pool(x: torch.Tensor, kind: str) -> torch.Tensor:
    dims = tuple(range(2, x.dim()))
    return x.mean(dim=dims, keepdim=True) if kind == "mean" else x.amax(dim=dims, keepdim=True)


def local_response_norm(x: torch.Tensor, size: int, alpha: float, beta: float, bias: float) -> torch.Tensor:
    """ONNX puts an even window's extra channel after the centre, torch before it: flip the channels."""
    if size % 2:
        return F.local_response_norm(x, size, alpha, beta, bias)
    return F.local_response_norm(x.flip(1), size, alpha, beta, bias).flip(1)


def pad(x: torch.Tensor, pads: Ints, mode: str, value: float, axes: list[int] | None) -> torch.Tensor:
    amounts = int_values(pads)
    axes = [a + x.dim() if a < 0 else a for a in (axes if axes is not None else range(x.dim()))]
    begins, ends = [0] * x.dim(), [0] * x.dim()
    for i, axis in enumerate(axes):
        begins[axis], ends[axis] = amounts[i], amounts[len(axes) + i]
    first = next((d for d in range(x.dim()) if begins[d] or ends[d]), x.dim())
    pairs = torch_pads(begins[first:], ends[first:])  # reflect/replicate pad only the trailing dims
    if mode == "constant":
        return F.pad(x, pairs, value=value)
    return F.pad(x, pairs, mode={"reflect": "reflect", "edge": "replicate"}[mode])


def _window(n: OnnxNode) -> tuple[list[int], list[int], list[int], list[int]]:
    kernel = list(n.attrs["kernel_shape"])
    dims = len(kernel)
    strides = list(n.attrs.get("strides") or [1] * dims)
    dilations = list(n.attrs.get("dilations") or [1] * dims)
    pads = list(n.attrs.get("pads") or [0] * (2 * dims))
    if n.attrs["auto_pad"] not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise n.refuse(f"does not support auto_pad={n.attrs['auto_pad']}")
    return kernel, strides, dilations, pads


def _pool(kind: str) -> Operator:
    def convert(b: GraphBuilder, n: OnnxNode) -> Converted:
        kernel, strides, dilations, pads = _window(n)
        if len(kernel) not in (1, 2, 3):
            raise n.refuse(f"does not support a {len(kernel)}-D kernel")
        if kind == "avg" and any(d != 1 for d in dilations):
            raise n.refuse(f"does not support dilations={dilations}")
        count = int(n.attrs.get("count_include_pad", 0))
        args = (kernel, strides, dilations, pads, n.attrs["auto_pad"], int(n.attrs.get("ceil_mode", 0)), count)
        return b.call(pool, b.tensor(n.inputs[0]), kind, *args)

    common = ("kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "dilations")
    return operator(convert, *common, "storage_order" if kind == "max" else "count_include_pad")


def _lrn(b: GraphBuilder, n: OnnxNode) -> Converted:
    values = (int(n.attrs["size"]), float(n.attrs["alpha"]), float(n.attrs["beta"]), float(n.attrs["bias"]))
    return b.call(local_response_norm, b.tensor(n.inputs[0]), *values)


def _pad(b: GraphBuilder, n: OnnxNode) -> Converted:
    mode = n.attrs["mode"]
    if mode not in ("constant", "reflect", "edge"):
        raise n.refuse(f"does not support mode={mode}")
    if n.opset < 11:
        pads: Any = list(n.attrs["pads"])
        value, axes = float(n.attrs["value"]), None
    else:
        pads = constant_list(b.constants[n.inputs[1]]) if n.inputs[1] in b.constants else b.tensor(n.inputs[1])
        value = constant_scalar(b.optional_constant(n, 2, "constant_value")) or 0.0
        axes = constant_list(b.optional_constant(n, 3, "axes"))
    return b.call(pad, b.tensor(n.inputs[0]), pads, mode, value, axes)


def interpolate(
    x: torch.Tensor, scales: list[float] | None, sizes: Ints | None, mode: str, align_corners: bool | None
) -> torch.Tensor:
    """Resize the spatial axes (the batch and channel entries of `sizes` are the input's own)."""
    if sizes is not None:
        return F.interpolate(x, size=int_values(sizes)[2:], mode=mode, align_corners=align_corners)
    assert scales is not None
    return F.interpolate(x, scale_factor=scales[2:], mode=mode, align_corners=align_corners)


_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _torch_mode(n: OnnxNode, rank: int) -> tuple[str, bool | None]:
    """torch's nearest is ONNX's asymmetric/floor; its linear modes are half_pixel or align_corners."""
    mode, coordinates = n.attrs["mode"], n.attrs.get("coordinate_transformation_mode", "asymmetric")
    if n.op_type == "Upsample" and mode == "nearest":
        return "nearest", None
    if mode == "nearest" and coordinates == "asymmetric" and n.attrs.get("nearest_mode") == "floor":
        return "nearest", None
    if mode == "linear" and rank in _LINEAR and coordinates in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        return _LINEAR[rank], coordinates == "align_corners"
    raise n.refuse(f"does not support mode={mode} with coordinate_transformation_mode={coordinates}")


def _resize(b: GraphBuilder, n: OnnxNode) -> Converted:
    rank = b.rank(n.inputs[0])
    mode, align_corners = _torch_mode(n, rank or 0)
    if n.op_type == "Upsample" and n.opset < 9:
        scales_array: Any = n.attrs["scales"]
    else:
        scales_array = b.optional_constant(n, 1 if n.opset < 11 or n.op_type == "Upsample" else 2, "scales")
    scales = [float(s) for s in scales_array] if scales_array is not None and len(scales_array) else None
    sizes = None
    if n.op_type == "Resize" and n.opset >= 11 and n.input(3):  # exporters compute sizes from Shape at runtime
        sizes = constant_list(b.constants[n.inputs[3]]) if n.inputs[3] in b.constants else b.tensor(n.inputs[3])
    if scales is not None and scales[:2] != [1.0, 1.0]:
        raise n.refuse(f"does not support scales={scales} on the batch or channel axes")
    return b.call(interpolate, b.tensor(n.inputs[0]), scales, sizes, mode, align_corners)


OPERATORS: dict[str, Operator] = {
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "GlobalAveragePool": operator(lambda b, n: b.call(global_pool, b.tensor(n.inputs[0]), "mean")),
    "GlobalMaxPool": operator(lambda b, n: b.call(global_pool, b.tensor(n.inputs[0]), "max")),
    "LRN": operator(_lrn, "size", "alpha", "beta", "bias"),
    "Pad": operator(_pad, "mode", "pads", "value"),
    "Resize": operator(_resize, "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a"),
    "Upsample": operator(_resize, "mode", "scales"),
}
