"""Element-wise ONNX operators (activations, arithmetic, softmax, casts) as torch functions."""

from __future__ import annotations

import functools
import operator as python_operator  # comparisons: torch.eq etc. refuse a scalar first operand
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx

from modelscan_vicious.loading.onnx_graph_builder import (
    Converted,
    GraphBuilder,
    OnnxNode,
    Operator,
    constant_scalar,
    operator,
)

# ONNX TensorProto data types -> torch; every float type becomes float32, the type the copy trains in
TORCH_DTYPES = {
    1: torch.float32,
    2: torch.uint8,
    3: torch.int8,
    5: torch.int16,
    6: torch.int32,
    7: torch.int64,
    9: torch.bool,
    10: torch.float32,
    11: torch.float32,
    16: torch.float32,
}


def operand(builder: GraphBuilder, name: str) -> fx.Node | float | int:
    """A 0-d constant as a literal (no buffer to carry), anything else as an fx value."""
    value = builder.constants.get(name)
    if value is not None and value.ndim == 0:
        return value.item()
    return builder.tensor(name)


def _unary(function: Callable[..., Any]) -> Operator:
    return operator(lambda b, n: b.call(function, b.tensor(n.inputs[0])))


def _binary(function: Callable[..., Any]) -> Operator:
    return operator(lambda b, n: b.call(function, operand(b, n.inputs[0]), operand(b, n.inputs[1])))


def onnx_div(a: Any, b: Any) -> torch.Tensor:
    """ONNX divides integers with truncation, torch.div would give floats."""
    integer = [isinstance(v, int) or (isinstance(v, torch.Tensor) and not v.is_floating_point()) for v in (a, b)]
    return torch.div(a, b, rounding_mode="trunc") if all(integer) else torch.div(a, b)


def variadic(kind: str, *tensors: torch.Tensor) -> torch.Tensor:
    """Sum / Max / Min / Mean of any number of broadcasting inputs."""
    combine = getattr(torch, {"sum": "add", "mean": "add", "max": "maximum", "min": "minimum"}[kind])
    out = functools.reduce(combine, tensors)
    return out / len(tensors) if kind == "mean" else out


def softmax_2d(x: torch.Tensor, axis: int, log: bool) -> torch.Tensor:
    """Softmax before opset 13: the input seen as 2-D, dimensions before `axis` against those after."""
    shape = x.shape
    flat = x.reshape(int(np.prod(shape[:axis])), -1)
    out = F.log_softmax(flat, dim=1) if log else F.softmax(flat, dim=1)
    return out.reshape(shape)


def _softmax(log: bool) -> Operator:
    def convert(b: GraphBuilder, n: OnnxNode) -> Converted:
        x, axis = b.tensor(n.inputs[0]), int(n.attrs["axis"])
        if n.opset < 13:
            rank = b.rank(n.inputs[0])
            if axis < 0 and rank is None:
                raise n.refuse(f"needs a known input rank for axis={axis}")
            return b.call(softmax_2d, x, axis + rank if axis < 0 and rank else axis, log)
        return b.call(F.log_softmax if log else F.softmax, x, axis)

    return operator(convert, "axis")


def hard_sigmoid(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    return torch.clamp(alpha * x + beta, 0.0, 1.0)


def selu(x: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    return gamma * torch.where(x > 0, x, alpha * (torch.exp(x) - 1.0))


def _bound(b: GraphBuilder, name: str) -> fx.Node | float | None:
    if not name:
        return None
    return constant_scalar(b.constants[name]) if name in b.constants else b.tensor(name)


def _clip(b: GraphBuilder, n: OnnxNode) -> Converted:
    x = b.tensor(n.inputs[0])
    if n.opset < 11:
        return b.call(torch.clamp, x, float(n.attrs["min"]), float(n.attrs["max"]))
    low, high = _bound(b, n.input(1)), _bound(b, n.input(2))
    return x if low is None and high is None else b.call(torch.clamp, x, low, high)


def _gelu(b: GraphBuilder, n: OnnxNode) -> Converted:
    return b.call(F.gelu, b.tensor(n.inputs[0]), approximate=n.attrs["approximate"])


def cast(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x.to(dtype)


def _cast(b: GraphBuilder, n: OnnxNode) -> Converted:
    dtype = TORCH_DTYPES.get(int(n.attrs["to"]))
    if dtype is None:
        raise n.refuse(f"does not support to={n.attrs['to']}")
    return b.call(cast, b.tensor(n.inputs[0]), dtype)


def _identity(b: GraphBuilder, n: OnnxNode) -> Converted:
    return b.tensor(n.inputs[0])


def _dropout(b: GraphBuilder, n: OnnxNode) -> Converted:
    """Inference-mode dropout, as the released model runs."""
    training = b.constants.get(n.input(2)) if n.input(2) else None
    if n.input(2) and (training is None or bool(training)):
        raise n.refuse("supports only training_mode=False")
    return b.tensor(n.inputs[0])


def _activation(function: Callable[..., Any], *attributes: str) -> Operator:
    """An activation whose attributes are passed on to `function` as positional arguments."""

    def convert(b: GraphBuilder, n: OnnxNode) -> Converted:
        return b.call(function, b.tensor(n.inputs[0]), *(float(n.attrs[a]) for a in attributes))

    return operator(convert, *attributes)


def _variadic(kind: str) -> Operator:
    return operator(lambda b, n: b.call(variadic, kind, *b.input_tensors(n)))


OPERATORS: dict[str, Operator] = {
    "Relu": _unary(torch.relu),
    "Sigmoid": _unary(torch.sigmoid),
    "Tanh": _unary(torch.tanh),
    "Softplus": _unary(F.softplus),
    "HardSwish": _unary(F.hardswish),
    "Erf": _unary(torch.erf),
    "Sqrt": _unary(torch.sqrt),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Neg": _unary(torch.neg),
    "Abs": _unary(torch.abs),
    "Reciprocal": _unary(torch.reciprocal),
    "Not": _unary(torch.logical_not),
    "LeakyRelu": _activation(F.leaky_relu, "alpha"),
    "Elu": _activation(F.elu, "alpha"),
    "Selu": _activation(selu, "alpha", "gamma"),
    "HardSigmoid": _activation(hard_sigmoid, "alpha", "beta"),
    "Gelu": operator(_gelu, "approximate"),
    "Clip": operator(_clip, "min", "max"),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _binary(onnx_div),
    "Pow": _binary(torch.pow),
    "Equal": _binary(python_operator.eq),
    "Less": _binary(python_operator.lt),
    "Greater": _binary(python_operator.gt),
    "Where": operator(lambda b, n: b.call(torch.where, *b.input_tensors(n))),
    "Sum": _variadic("sum"),
    "Mean": _variadic("mean"),
    "Max": _variadic("max"),
    "Min": _variadic("min"),
    "Softmax": _softmax(log=False),
    "LogSoftmax": _softmax(log=True),
    "Cast": operator(_cast, "to"),
    "Identity": operator(_identity),
    "Dropout": operator(_dropout, "ratio", "seed", "is_test"),
}
