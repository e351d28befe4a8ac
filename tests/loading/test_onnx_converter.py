"""Our ONNX -> trainable torch converter against onnxruntime, on exporter graphs and the ONNX model zoo."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper
from onnx_checks import (
    BASIC_NETS,
    NETS,
    assert_matches_onnxruntime,
    assert_retrainable,
    assert_trains,
    build,
    export,
    weight_count,
)
from torch import fx, nn

from modelscan_vicious.errors import ModelNotTrainableError
from modelscan_vicious.loading.onnx_to_torch import onnx_to_torch

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_SHAPE = (3, 224, 224)
# tens of millions of weights: 13 to 46 s each (random weights and onnxruntime), the others 2 s or less
SLOW_LIGHT = ("bvlc_alexnet", "vgg19", "zfnet512")
FAST_LIGHT = ("squeezenet", "resnet50", "shufflenet", "inception_v1", "inception_v2", "densenet121")
LEGACY_OPSETS = (11, 13, 17, 19, 20)  # 20: the newest the TorchScript-based exporter writes
DYNAMO_NEWEST = 23  # torch 2.13's newest for the dynamo exporter (torch.onnx._constants.ONNX_MAX_OPSET)


def _converted(model: onnx.ModelProto) -> fx.GraphModule:
    module = onnx_to_torch(model)
    assert isinstance(module, fx.GraphModule)
    return module


def _check_export(name: str, model: onnx.ModelProto) -> None:
    shape = NETS[name][1]
    module = _converted(model)
    assert_matches_onnxruntime(module, model, shape)
    assert sum(p.numel() for p in module.parameters()) == weight_count(model)
    assert_trains(module, shape)
    assert_retrainable(module, shape)


@pytest.mark.parametrize("dynamic", [False, True], ids=["batch1", "dynamic"])
@pytest.mark.parametrize("opset", LEGACY_OPSETS)
@pytest.mark.parametrize("name", BASIC_NETS)
def test_legacy_exports_convert_match_and_train(name, opset, dynamic):
    net = build(name)
    _check_export(name, export(net, NETS[name][1], opset, dynamic=dynamic, dynamo=False))


@pytest.mark.parametrize(
    ("opset", "dynamic"), [(18, False), (18, True), (DYNAMO_NEWEST, True)], ids=["18-batch1", "18-dynamic", "newest"]
)
@pytest.mark.parametrize("name", BASIC_NETS)
def test_dynamo_exports_convert_match_and_train(name, opset, dynamic):
    pytest.importorskip("onnxscript")
    _check_export(name, export(build(name), NETS[name][1], opset, dynamic=dynamic, dynamo=True))


@pytest.mark.parametrize(
    ("opset", "dynamic", "dynamo"),
    [(11, True, False), (13, False, False), (17, True, False), (20, False, False), (DYNAMO_NEWEST, False, True)],
    ids=["11-dynamic", "13-batch1", "17-dynamic", "20-batch1", "dynamo-batch1"],
)
@pytest.mark.parametrize("name", ["vit", "mobile"])
def test_modern_architectures_convert_match_and_train(name, opset, dynamic, dynamo):
    """A fixed batch of 1 folds the ViT's class-token expand away: the copy must still take batches."""
    if dynamo:
        pytest.importorskip("onnxscript")
    _check_export(name, export(build(name), NETS[name][1], opset, dynamic=dynamic, dynamo=dynamo))


def test_layers_are_named_nn_modules_with_parameters():
    module = _converted(export(build("resnet"), NETS["resnet"][1], 17, dynamic=True, dynamo=False))
    convs = [m for n, m in module.named_modules() if n.startswith("conv_")]
    assert len(convs) == 3 and all(isinstance(m, nn.Conv2d) for m in convs)
    linear = module.get_submodule("linear_0")  # the MatMul + Add head, its bias folded in
    assert isinstance(linear, nn.Linear) and linear.bias is not None and linear.weight.shape == (3, 4)
    assert not any(node.target is torch.add and node.args[0].target == "linear_0" for node in module.graph.nodes)
    mlp = _converted(export(build("mlp"), NETS["mlp"][1], 17, dynamic=True, dynamo=False))
    norm = mlp.get_submodule("batch_norm_0")
    assert isinstance(norm, nn.BatchNorm1d)
    assert torch.equal(norm.running_var, build("mlp").norm.running_var)


def test_normalisation_constants_are_buffers_not_parameters():
    module = _converted(export(build("cnn"), NETS["cnn"][1], 17, dynamic=False, dynamo=False))
    names = {name for name, _ in module.named_parameters()}
    assert all(name.split(".")[0].rsplit("_", 1)[0] in ("conv", "linear") for name in names)
    buffers = [b for name, b in module.named_buffers() if name.startswith("const_")]
    assert any(torch.allclose(b.reshape(-1), torch.tensor([0.25, 0.3])) for b in buffers)


def _light(name: str) -> onnx.ModelProto:
    """A zoo model with every ConstantOfShape weight (all 0.02 as shipped) replaced by seeded random
    values, so the outputs are not a uniform softmax that any graph would match."""
    model = onnx.load(str(LIGHT / f"light_{name}.onnx"))
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    rng = np.random.default_rng(0)
    for index, node in enumerate(model.graph.node):
        if node.op_type != "ConstantOfShape" or node.input[0] not in constants:
            continue
        shape = [int(d) for d in constants[node.input[0]]]
        if len(shape) == 1:
            value = rng.uniform(0.5, 1.5, shape)  # scales, shifts, means and variances alike
        else:
            bound = np.sqrt(3.0 / np.prod(shape[1:]))
            value = rng.uniform(-bound, bound, shape)
        tensor = numpy_helper.from_array(value.astype(np.float32), node.output[0])
        model.graph.node[index].CopyFrom(helper.make_node("Constant", [], [node.output[0]], value=tensor))
    return model


@pytest.mark.parametrize("name", [*FAST_LIGHT, *(pytest.param(name, marks=pytest.mark.slow) for name in SLOW_LIGHT)])
def test_light_zoo_models_convert_and_match(name):
    model = _light(name)
    module = _converted(model)
    assert_matches_onnxruntime(module, model, LIGHT_SHAPE, batches=(1, 2))
    assert sum(p.numel() for p in module.parameters()) == weight_count(model)


def test_light_zoo_model_as_shipped_trains_and_retrains():
    """The shipped file: weights made by ConstantOfShape, inputs listing the initializers, softmax inside."""
    model = onnx.load(str(LIGHT / "light_squeezenet.onnx"))
    module = _converted(model)
    assert_matches_onnxruntime(module, model, LIGHT_SHAPE, batches=(1, 2))
    assert sum(p.numel() for p in module.parameters()) == 1_235_496
    small = (3, 64, 64)  # squeezenet is fully convolutional: small inputs keep the training step quick
    assert_trains(module, small)
    assert_retrainable(module, small)


def _graph(nodes, initializers, input_shape=(None, 4), output_shape=(None, 3), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, list(output_shape))],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_matmul_add_with_constant_weights_becomes_a_linear_layer():
    rng = np.random.default_rng(0)
    model = _graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["b", "h"], ["y"])],
        {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=3)},
    )
    module = _converted(model)
    assert [name for name, _ in module.named_parameters()] == ["linear_0.weight", "linear_0.bias"]
    assert module.get_submodule("linear_0").weight.shape == (3, 4)  # fan-in last, as reinitialise expects
    assert_matches_onnxruntime(module, model, (4,))


def test_an_operator_outside_the_table_is_refused_by_name():
    model = _graph(
        [helper.make_node("Gemm", ["x", "w"], ["h"]), helper.make_node("Hardmax", ["h"], ["y"])], {"w": np.ones((4, 3))}
    )
    with pytest.raises(ModelNotTrainableError) as err:
        onnx_to_torch(model)
    assert str(err.value) == "cannot make a trainable copy: the ONNX operator Hardmax (opset 17) is not supported"


def test_a_graph_without_weights_is_refused():
    model = _graph([helper.make_node("Mul", ["x", "s"], ["y"])], {"s": np.full(4, 2.0)}, output_shape=(None, 4))
    with pytest.raises(ModelNotTrainableError, match="holds its weights as constants"):
        onnx_to_torch(model)


def test_conversion_is_quick():
    model = onnx.load(str(LIGHT / "light_resnet50.onnx"))
    start = time.perf_counter()
    onnx_to_torch(model)
    assert time.perf_counter() - start < 5.0  # about 0.1 s measured


def test_light_zoo_model_loads_as_a_suspect_with_weights():
    """Its weights exist only as ConstantOfShape fills: the loader must not refuse it as weightless."""
    from modelscan_vicious.loading import load_model

    suspect = load_model(LIGHT / "light_squeezenet.onnx")
    assert (suspect.input_shape, suspect.n_outputs, suspect.output_kind) == ((3, 224, 224), 1000, "probabilities")
    assert sum(p.numel() for p in suspect.trainable_copy().parameters()) == 1_235_496
