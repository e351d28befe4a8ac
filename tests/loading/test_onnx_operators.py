"""Operator by operator, our ONNX -> torch converter against onnxruntime, and what it refuses."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx_checks import assert_matches_onnxruntime

from modelscan_vicious.errors import ModelNotTrainableError
from modelscan_vicious.loading.onnx_to_torch import convert_graph

RNG = np.random.default_rng(0)
IMAGE = (2, 7, 7)


def _model(nodes, initializers=None, shape=IMAGE, opset=17, fixed_batch=False) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1 if fixed_batch else "N", *shape])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _node(op, inputs=("x",), **attrs):
    return helper.make_node(op, list(inputs), ["y"], **attrs)


def _f32(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def _i64(*values):
    return np.array(values, dtype=np.int64)


W = _f32(3, 2, 3, 3)
CASES = {
    "maxpool_asymmetric_pads": ([_node("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 0])], {}),
    "maxpool_ceil_mode": ([_node("MaxPool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)], {}),
    "maxpool_ceil_padded": (
        [_node("MaxPool", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)],
        {},
    ),
    "maxpool_ceil_asymmetric": (
        [_node("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 2, 1], ceil_mode=1)],
        {},
    ),
    "avgpool_ceil_asymmetric": (
        [_node("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 2], ceil_mode=1)],
        {},
    ),
    "maxpool_same_lower": ([_node("MaxPool", kernel_shape=[2, 2], auto_pad="SAME_LOWER")], {}),
    "maxpool_dilated": ([_node("MaxPool", kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])], {}),
    "avgpool_excluding_pads": ([_node("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1])], {}),
    "avgpool_asymmetric": ([_node("AveragePool", kernel_shape=[3, 3], pads=[0, 0, 1, 2])], {}),
    "avgpool_asymmetric_including": (
        [_node("AveragePool", kernel_shape=[3, 3], pads=[0, 2, 1, 0], count_include_pad=1)],
        {},
    ),
    "avgpool_same_upper": ([_node("AveragePool", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")], {}),
    "avgpool_ceil_including": (
        [
            _node(
                "AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1
            )
        ],
        {},
    ),
    "global_max_pool": ([_node("GlobalMaxPool")], {}),
    "lrn_odd": ([_node("LRN", size=3, alpha=0.1, beta=0.6, bias=2.0)], {}),
    "pad_constant": ([_node("Pad", ["x", "p", "v"])], {"p": _i64(0, 0, 1, 2, 0, 0, 2, 1), "v": np.float32(0.5)}),
    "pad_reflect": ([_node("Pad", ["x", "p"], mode="reflect")], {"p": _i64(0, 0, 1, 2, 0, 0, 2, 1)}),
    "pad_edge": ([_node("Pad", ["x", "p"], mode="edge")], {"p": _i64(0, 0, 1, 2, 0, 0, 2, 1)}),
    "conv_asymmetric_pads": ([_node("Conv", ["x", "w"], pads=[0, 1, 2, 1])], {"w": W}),
    "conv_same_upper_strided": (
        [_node("Conv", ["x", "w", "b"], strides=[2, 2], auto_pad="SAME_UPPER")],
        {"w": W, "b": _f32(3)},
    ),
    "conv_grouped_dilated": (
        [_node("Conv", ["x", "w"], group=2, dilations=[2, 2], pads=[1, 1, 1, 1])],
        {"w": _f32(4, 1, 3, 3)},
    ),
    "conv_transpose": (
        [_node("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])],
        {"w": _f32(2, 3, 3, 3), "b": _f32(3)},
    ),
    "batch_norm": (
        [_node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)],
        {"s": _f32(2), "b": _f32(2), "m": _f32(2), "v": _f32(2, low=0.5, high=1.5)},
    ),
    "instance_norm": ([_node("InstanceNormalization", ["x", "s", "b"])], {"s": _f32(2), "b": _f32(2)}),
    "layer_norm": ([_node("LayerNormalization", ["x", "s", "b"], axis=-2)], {"s": _f32(7, 7), "b": _f32(7, 7)}),
    "prelu": ([_node("PRelu", ["x", "s"])], {"s": _f32(2, 1, 1)}),
    "softmax_2d_coerced": ([_node("Softmax", axis=1)], {}),
    "log_softmax_axis": ([_node("LogSoftmax", axis=2)], {}),
    "flatten_axis_2": ([_node("Flatten", axis=2)], {}),
    "transpose_default": ([_node("Transpose")], {}),
    "reduce_sum_input": ([_node("ReduceSum", ["x", "a"])], {"a": _i64(-1)}),
    "gather_negative": ([_node("Gather", ["x", "i"], axis=1)], {"i": _i64(-1, 0)}),
    "slice_steps": (
        [_node("Slice", ["x", "s", "e", "a", "t"])],
        {"s": _i64(6, 1), "e": _i64(-100, 7), "a": _i64(2, 3), "t": _i64(-2, 3)},
    ),
    "gelu_tanh": ([_node("Gelu", approximate="tanh")], {}),
    "clip_min_only": ([_node("Clip", ["x", "lo"])], {"lo": np.float32(0.0)}),
    "where_greater": (
        [helper.make_node("Greater", ["x", "h"], ["c"]), _node("Where", ["c", "x", "z"])],
        {"h": np.float32(0.2), "z": np.float32(-1.0)},
    ),
    "variadic": (
        [
            _node("Max", ["x", "s"]),
        ],
        {"s": _f32(7)},
    ),
    "resize_nearest": (
        [_node("Resize", ["x", "", "s"], coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
        {"s": np.array([1, 1, 2, 1.5], dtype=np.float32)},
    ),
    "resize_linear": (
        [_node("Resize", ["x", "", "s"], mode="linear")],
        {"s": np.array([1, 1, 2, 2], dtype=np.float32)},
    ),
    "pow_scalar": ([_node("Pow", ["x", "two"])], {"two": np.float32(2.0)}),
    "div_vector": ([_node("Div", ["x", "v"])], {"v": _f32(7, low=0.5, high=2.0)}),
    "mean_variadic": ([_node("Mean", ["x", "v", "x"])], {"v": _f32(7)}),
    "gemm_alpha_beta": (
        [helper.make_node("Flatten", ["x"], ["f"]), _node("Gemm", ["f", "w", "c"], alpha=0.5, beta=2.0)],
        {"w": _f32(98, 3), "c": _f32(1, 3)},
    ),
    "squeeze_unsqueeze_inputs": (
        [helper.make_node("Unsqueeze", ["x", "a"], ["u"]), _node("Squeeze", ["u", "a0"])],
        {"a": _i64(0, -1), "a0": _i64(0)},
    ),
    "split_input": (
        [helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=3), _node("Concat", ["b", "a"], axis=3)],
        {"sizes": _i64(2, 5)},
    ),
    "pad_axes": ([_node("Pad", ["x", "p", "", "a"])], {"p": _i64(1, 2), "a": _i64(-1)}),
    "constant_of_shape_runtime": (
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("ConstantOfShape", ["s"], ["ones"], value=helper.make_tensor("v", 1, [1], [0.5])),
            _node("Add", ["x", "ones"]),
        ],
        {},
    ),
    "cast_round_trip": (
        [helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64), _node("Cast", ["i"], to=TensorProto.FLOAT)],
        {},
    ),
    "equal_not_where": (
        [
            helper.make_node("Less", ["h", "x"], ["g"]),  # a scalar first: torch.lt would refuse it
            helper.make_node("Not", ["g"], ["n"]),
            helper.make_node("Equal", ["n", "t"], ["e"]),
            _node("Where", ["e", "x", "z"]),
        ],
        {"h": np.float32(0.0), "t": np.bool_(True), "z": np.float32(3.0)},
    ),
    "split_concat": (
        [helper.make_node("Split", ["x"], ["a", "b"], axis=2, num_outputs=2), _node("Concat", ["b", "a"], axis=2)],
        {},
    ),
}
ACTIVATIONS = ["Relu", "Sigmoid", "Tanh", "Softplus", "HardSwish", "Erf", "Abs", "Neg", "Exp"]
ACTIVATIONS += ["LeakyRelu", "Elu", "Selu", "HardSigmoid", "Sqrt", "Log", "Reciprocal"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_operator_matches_onnxruntime(case):
    nodes, initializers = CASES[case]
    model = _model(nodes, initializers, opset=18 if "split" in case or case == "reduce_sum_input" else 20)
    assert_matches_onnxruntime(convert_graph(model), model, IMAGE, batches=(1, 3))


@pytest.mark.parametrize("op", ACTIVATIONS)
def test_activation_matches_onnxruntime(op):
    model = _model([_node(op)])
    assert_matches_onnxruntime(convert_graph(model), model, IMAGE, batches=(2,))


OLD_FORMS = {  # attributes that later opsets turned into inputs
    "squeeze_unsqueeze_11": (
        11,
        [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, -1]), _node("Squeeze", ["u"], axes=[0])],
    ),
    "split_attribute_11": (
        11,
        [helper.make_node("Split", ["x"], ["a", "b"], axis=1, split=[1, 1]), _node("Sub", ["a", "b"])],
    ),
    "slice_attributes_9": (9, [_node("Slice", starts=[1, -3], ends=[100, -1], axes=[2, 3])]),
    "pad_attributes_2": (9, [_node("Pad", pads=[0, 0, 1, 0, 0, 1, 0, 2], value=0.25)]),
    "clip_attributes_6": (9, [_node("Clip", min=-0.2, max=0.3)]),
    "softmax_coerced_11": (11, [_node("Softmax", axis=2)]),
    "upsample_9": (9, [_node("Upsample", ["x", "s"])]),
    "dropout_7": (7, [_node("Dropout", ratio=0.3)]),
    "reduce_max_attributes_13": (13, [_node("ReduceMax", axes=[2])]),
    "reduce_mean_attributes_13": (13, [_node("ReduceMean", axes=[1, 3], keepdims=0)]),
}


@pytest.mark.parametrize("case", sorted(OLD_FORMS))
def test_attribute_forms_of_older_opsets(case):
    opset, nodes = OLD_FORMS[case]
    model = _model(nodes, {"s": np.array([1, 1, 2, 2], dtype=np.float32)} if "upsample" in case else {}, opset=opset)
    assert_matches_onnxruntime(convert_graph(model), model, IMAGE, batches=(1, 3))


def _lrn_by_the_spec(x: np.ndarray, size: int, alpha: float, beta: float, bias: float) -> np.ndarray:
    """The ONNX LRN formula: channel c averages squares over [c - floor((size-1)/2), c + ceil((size-1)/2)]."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        low, high = max(0, c - (size - 1) // 2), min(x.shape[1] - 1, c + (size - 1) - (size - 1) // 2)
        square_sum = (x[:, low : high + 1] ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (bias + alpha / size * square_sum) ** beta
    return out


@pytest.mark.parametrize("size", [2, 3, 4])
def test_lrn_windows_follow_the_onnx_formula(size):
    """onnxruntime refuses even LRN sizes (and onnx's reference evaluator gets them wrong): the formula decides."""
    model = _model([_node("LRN", size=size, alpha=0.3, beta=0.6, bias=1.5)])
    x = np.random.default_rng(0).random((2, 5, 3, 3), dtype=np.float32)
    got = convert_graph(model)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, _lrn_by_the_spec(x, size, 0.3, 0.6, 1.5), atol=1e-6, rtol=1e-5)


def test_one_dimensional_layers():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"]),
        helper.make_node("MaxPool", ["n"], ["p"], kernel_shape=[2], strides=[2]),
        _node("PRelu", ["p", "slope"]),
    ]
    inits = {"w": _f32(3, 2, 3), "b": _f32(3), "s": _f32(3), "m": _f32(3), "v": _f32(3, low=0.5), "slope": _f32(3, 1)}
    model = _model(nodes, inits, shape=(2, 9))
    module = convert_graph(model)
    assert [type(m).__name__ for m in module.children()] == ["Conv1d", "BatchNorm1d", "PReLU"]
    assert_matches_onnxruntime(module, model, (2, 9))


class _Upsample(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nearest = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        linear = torch.nn.functional.interpolate(x, size=(14, 14), mode="bilinear", align_corners=False)
        return nearest + linear


@pytest.mark.parametrize("opset", [11, 17])
def test_exported_interpolation_with_runtime_sizes(opset):
    from onnx_checks import export

    model = export(_Upsample(), IMAGE, opset, dynamic=True, dynamo=False)
    assert_matches_onnxruntime(convert_graph(model), model, IMAGE)


def test_fixed_batch_reshape_and_expand_follow_the_runtime_batch():
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("Expand", ["flat", "wide"], ["y"]),
    ]
    model = _model(nodes, {"shape": _i64(1, 1, -1), "wide": _i64(1, 3, 98)}, fixed_batch=True)
    module = convert_graph(model)
    assert_matches_onnxruntime(module, model, IMAGE, batches=(1, 5))  # onnxruntime runs the 5 one at a time


def test_dynamic_flatten_through_shape_arithmetic():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    model = _model(nodes, {"zero": np.int64(0), "axes": _i64(0), "minus_one": _i64(-1)})
    assert_matches_onnxruntime(convert_graph(model), model, IMAGE, batches=(1, 4))


def test_constant_of_shape_weights_are_folded_into_parameters():
    nodes = [
        helper.make_node(
            "ConstantOfShape", ["wshape"], ["w"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.1])
        ),
        _node("Conv", ["x", "w"]),
    ]
    model = _model(nodes, {"wshape": _i64(3, 2, 3, 3)})
    module = convert_graph(model)
    assert [name for name, _ in module.named_parameters()] == ["conv_0.weight"]
    assert_matches_onnxruntime(module, model, IMAGE)


REFUSED = {
    "pad_wrap": (19, _node("Pad", ["x", "p"], mode="wrap"), "Pad (opset 19) does not support mode=wrap"),
    "resize_cubic": (
        19,
        _node("Resize", ["x", "", "s"], mode="cubic"),
        "Resize (opset 19) does not support mode=cubic",
    ),
    "stash_type": (
        17,
        _node("LayerNormalization", ["x", "s"], stash_type=0),
        "does not support attribute stash_type=0",
    ),
    "runtime_conv_weight": (17, _node("Conv", ["x", "x"]), "Conv (opset 17) needs a constant weight"),
    "maxpool_indices": (
        17,
        helper.make_node("MaxPool", ["x"], ["y", "y"], kernel_shape=[2, 2]),
        "does not support its output",
    ),
    "other_domain": (
        17,
        helper.make_node("FusedConv", ["x"], ["y"], domain="com.microsoft"),
        "the ONNX operator com.microsoft.FusedConv (opset 17) is not supported",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unsupported_forms_are_refused_by_name(case):
    opset, node, message = REFUSED[case]
    inits = {"p": _i64(0, 0, 1, 1, 0, 0, 1, 1), "s": np.array([1, 1, 2, 2], dtype=np.float32)}
    model = _model([node], inits, opset=opset)
    with pytest.raises(ModelNotTrainableError, match="^cannot make a trainable copy: ") as err:
        convert_graph(model)
    assert message in str(err.value)


def test_a_graph_with_two_inputs_is_refused():
    model = _model([_node("Add", ["x", "x2"])])
    model.graph.input.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["N", *IMAGE]))
    with pytest.raises(ModelNotTrainableError, match="has 2 inputs"):
        convert_graph(model)
