"""ONNX operators with weights, written as the `nn` layers an eager model would have.

Their weights become float32 `nn.Parameter`s under the names `reinitialise` and batch-norm folding
read (`conv_0.weight`, `linear_3.bias`); layers are built on the meta device and given the graph's
arrays, so no throw-away random initialisation is paid for (VGG-19 holds 143 M weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from modelscan_vicious.loading.onnx_graph_builder import (
    Converted,
    GraphBuilder,
    OnnxNode,
    Operator,
    as_parameter,
    operator,
)
from modelscan_vicious.loading.onnx_graph_pooling import resolve_pads, torch_pads

_CONVS: dict[int, type[nn.Module]] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_TRANSPOSED: dict[int, type[nn.Module]] = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_INSTANCE_NORMS: dict[int, type[nn.Module]] = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}


class AnyRankBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm for an input whose rank shape inference could not tell."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return None


_BATCH_NORMS: dict[int, type[nn.Module]] = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


def _load(module: nn.Module, **arrays: np.ndarray | None) -> nn.Module:
    """Replace the meta-device tensors of `module` by the graph's arrays (None: the layer has no bias)."""
    for name, array in arrays.items():
        if name in module._parameters:
            setattr(module, name, None if array is None else as_parameter(array))
        elif array is not None:
            setattr(module, name, torch.from_numpy(np.array(array, dtype=np.float32)))
    if "num_batches_tracked" in module._buffers:
        module.num_batches_tracked = torch.tensor(0, dtype=torch.long)
    return module


def same_pad(
    x: torch.Tensor, kernel: list[int], strides: list[int], dilations: list[int], auto_pad: str
) -> torch.Tensor:
    pads = resolve_pads(x, kernel, strides, dilations, [], auto_pad)
    return F.pad(x, torch_pads(pads[: len(kernel)], pads[len(kernel) :]))


def _conv_geometry(n: OnnxNode, kernel: list[int]) -> tuple[list[int], list[int], list[int]]:
    dims = len(kernel)
    strides = list(n.attrs.get("strides") or [1] * dims)
    dilations = list(n.attrs.get("dilations") or [1] * dims)
    pads = list(n.attrs.get("pads") or [0] * (2 * dims))
    if n.attrs["auto_pad"] == "VALID":
        pads = [0] * (2 * dims)
    return strides, dilations, pads


def _conv(b: GraphBuilder, n: OnnxNode) -> Converted:
    weight = b.constant(n, 1, "weight")
    bias = b.optional_constant(n, 2, "bias")
    kernel, groups = list(weight.shape[2:]), int(n.attrs["group"])
    if len(kernel) not in _CONVS:
        raise n.refuse(f"does not support a {len(kernel)}-D kernel")
    strides, dilations, pads = _conv_geometry(n, kernel)
    x = b.tensor(n.inputs[0])
    auto_pad = n.attrs["auto_pad"]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        x, pads = b.call(same_pad, x, kernel, strides, dilations, auto_pad), [0] * (2 * len(kernel))
    elif auto_pad not in ("NOTSET", "VALID"):
        raise n.refuse(f"does not support auto_pad={auto_pad}")
    begins, ends = pads[: len(kernel)], pads[len(kernel) :]
    if begins != ends:  # torch convolutions pad symmetrically only
        x, begins = b.call(F.pad, x, torch_pads(begins, ends)), [0] * len(kernel)
    conv = _CONVS[len(kernel)](
        weight.shape[1] * groups,
        weight.shape[0],
        kernel,
        stride=strides,
        padding=begins,
        dilation=dilations,
        groups=groups,
        bias=bias is not None,
        device="meta",
    )
    return b.layer("conv", _load(conv, weight=weight, bias=bias), x)


def _conv_transpose(b: GraphBuilder, n: OnnxNode) -> Converted:
    weight = b.constant(n, 1, "weight")
    bias = b.optional_constant(n, 2, "bias")
    kernel, groups = list(weight.shape[2:]), int(n.attrs["group"])
    if len(kernel) not in _TRANSPOSED or n.attrs["auto_pad"] not in ("NOTSET", "VALID"):
        raise n.refuse(f"does not support a {len(kernel)}-D kernel with auto_pad={n.attrs['auto_pad']}")
    strides, dilations, pads = _conv_geometry(n, kernel)
    if pads[: len(kernel)] != pads[len(kernel) :]:
        raise n.refuse(f"does not support asymmetric pads={pads}")
    conv = _TRANSPOSED[len(kernel)](
        weight.shape[0],
        weight.shape[1] * groups,
        kernel,
        stride=strides,
        padding=pads[: len(kernel)],
        output_padding=list(n.attrs.get("output_padding") or [0] * len(kernel)),
        groups=groups,
        bias=bias is not None,
        dilation=dilations,
        device="meta",
    )
    return b.layer("conv_transpose", _load(conv, weight=weight, bias=bias), b.tensor(n.inputs[0]))


def _linear(b: GraphBuilder, x: Any, weight: np.ndarray, bias: np.ndarray | None) -> fx.Node:
    """nn.Linear from an (out, in) weight: weight.shape[1] is the fan-in, as `reinitialise` expects."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    return b.layer("linear", _load(layer, weight=weight, bias=bias), x)


def _vector_bias(bias: np.ndarray | None, width: int) -> np.ndarray | None:
    """`bias` as a 1-D (width,) vector when it broadcasts to every row alike, else None."""
    if bias is None or bias.ndim > 2 or (bias.ndim == 2 and bias.shape[0] != 1) or bias.size not in (1, width):
        return None
    return np.broadcast_to(bias.reshape(-1), (width,)).astype(np.float32)


def gemm(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None, alpha: float, beta: float) -> torch.Tensor:
    out = alpha * (a @ b)
    return out if c is None else out + beta * c


def _gemm(b: GraphBuilder, n: OnnxNode) -> Converted:
    alpha, beta = float(n.attrs["alpha"]), float(n.attrs["beta"])
    a = b.tensor(n.inputs[0])
    if int(n.attrs["transA"]):
        a = b.call(torch.transpose, a, 0, 1)
    if not b.is_constant(n.inputs[1]):  # a runtime right operand: no layer, plain arithmetic
        right = b.tensor(n.inputs[1])
        right = b.call(torch.transpose, right, 0, 1) if int(n.attrs["transB"]) else right
        c = b.tensor(n.input(2)) if n.input(2) else None
        return b.call(gemm, a, right, c, alpha, beta)
    matrix = b.constants[n.inputs[1]]
    weight = alpha * (matrix if int(n.attrs["transB"]) else matrix.T)
    c_array = b.constants.get(n.input(2)) if n.input(2) else None
    bias = _vector_bias(None if c_array is None else beta * c_array, weight.shape[0])
    out = _linear(b, a, weight, bias)
    if n.input(2) and bias is None:  # a bias per row, or computed at runtime
        scaled = b.call(torch.mul, b.tensor(n.input(2)), beta)
        out = b.call(torch.add, out, scaled)
    return out


def _matmul(b: GraphBuilder, n: OnnxNode) -> Converted:
    """x @ W with a constant 2-D W is a Linear layer; a following Add of a constant vector is its bias."""
    right = b.constants.get(n.inputs[1])
    if right is None or right.ndim != 2 or b.is_constant(n.inputs[0]):
        return b.call(torch.matmul, b.tensor(n.inputs[0]), b.tensor(n.inputs[1]))
    add, bias = b.sole_consumer(n.outputs[0]), None
    if add is not None and add.op_type == "Add" and len(add.input) == 2:
        other = add.input[1] if add.input[0] == n.outputs[0] else add.input[0]
        candidate = b.constants.get(other)
        if candidate is not None and candidate.ndim == 1 and candidate.shape[0] == right.shape[1]:
            bias = candidate
    out = _linear(b, b.tensor(n.inputs[0]), right.T, bias)
    if bias is not None and add is not None:
        b.fused.add(id(add))
        b.values[add.output[0]] = out
    return out


def _batch_norm(b: GraphBuilder, n: OnnxNode) -> Converted:
    scale, shift, mean, var = (b.constant(n, i, what) for i, what in enumerate(("scale", "B", "mean", "var"), 1))
    kind = _BATCH_NORMS.get(b.rank(n.inputs[0]) or 0, AnyRankBatchNorm)
    # ONNX momentum weighs the old running value, torch's the new batch statistic
    norm = kind(scale.shape[0], eps=float(n.attrs["epsilon"]), momentum=1.0 - float(n.attrs["momentum"]), device="meta")
    norm = _load(norm, weight=scale, bias=shift, running_mean=mean, running_var=var)
    return b.layer("batch_norm", norm, b.tensor(n.inputs[0]))


def _instance_norm(b: GraphBuilder, n: OnnxNode) -> Converted:
    scale, shift = b.constant(n, 1, "scale"), b.constant(n, 2, "B")
    kind = _INSTANCE_NORMS.get(b.rank(n.inputs[0]) or 0)
    if kind is None:
        raise n.refuse("needs an input of known rank 3 to 5")
    norm = kind(scale.shape[0], eps=float(n.attrs["epsilon"]), affine=True, device="meta")
    return b.layer("instance_norm", _load(norm, weight=scale, bias=shift), b.tensor(n.inputs[0]))


def _layer_norm(b: GraphBuilder, n: OnnxNode) -> Converted:
    scale, shift = b.constant(n, 1, "scale"), b.optional_constant(n, 2, "B")
    axis, rank = int(n.attrs["axis"]), b.rank(n.inputs[0])
    normalised = -axis if axis < 0 else (rank - axis if rank is not None else None)
    if normalised is None or scale.ndim != normalised:  # nn.LayerNorm's weight spans the normalised axes
        raise n.refuse(f"does not support a scale of shape {scale.shape} for axis={axis}")
    norm = nn.LayerNorm(scale.shape, eps=float(n.attrs["epsilon"]), bias=shift is not None, device="meta")
    shift = None if shift is None else np.broadcast_to(shift, scale.shape)
    return b.layer("layer_norm", _load(norm, weight=scale, bias=shift), b.tensor(n.inputs[0]))


def _prelu(b: GraphBuilder, n: OnnxNode) -> Converted:
    slope, rank = b.constant(n, 1, "slope"), b.rank(n.inputs[0]) or 0
    aligned = (1,) * (rank - slope.ndim) + slope.shape
    per_channel = rank >= 2 and all(d == 1 for i, d in enumerate(aligned) if i != 1)
    if slope.size != 1 and not per_channel:
        raise n.refuse(f"does not support a slope of shape {slope.shape}")
    prelu = nn.PReLU(slope.size, device="meta")
    return b.layer("prelu", _load(prelu, weight=slope.reshape(-1)), b.tensor(n.inputs[0]))


_WINDOW = ("kernel_shape", "strides", "pads", "auto_pad", "dilations", "group")
OPERATORS: dict[str, Operator] = {
    "Conv": operator(_conv, *_WINDOW),
    "ConvTranspose": operator(_conv_transpose, *_WINDOW, "output_padding"),
    "Gemm": operator(_gemm, "alpha", "beta", "transA", "transB"),
    "MatMul": operator(_matmul),
    "BatchNormalization": operator(_batch_norm, "epsilon", "momentum"),
    "InstanceNormalization": operator(_instance_norm, "epsilon"),
    "LayerNormalization": operator(_layer_norm, "axis", "epsilon"),
    "PRelu": operator(_prelu),
}
