"""Trainable PyTorch copies of ONNX graphs: our own converter for the operators image classifiers use.

The graph is written directly as a torch.fx graph (no tracing): weight-carrying operators become
`nn` layers (`onnx_graph_layers`), everything else torch functions (`onnx_graph_elementwise`,
`onnx_graph_shapes`, `onnx_graph_pooling`), after every all-constant node has been evaluated once
(`onnx_graph_folding`). An operator, attribute or mode outside those tables raises
ModelNotTrainableError naming it, and the scan goes on with its black-box checks.
"""

from __future__ import annotations

from typing import Any

from torch import fx

from modelscan_vicious.errors import ModelNotTrainableError
from modelscan_vicious.loading.onnx_graph_builder import GraphBuilder, OnnxNode, Operator, unsupported_operator
from modelscan_vicious.loading.onnx_graph_folding import fold_constants

_DEFAULT_DOMAINS = ("", "ai.onnx")


def _operators() -> dict[str, Operator]:
    """The operator table, filled in one place; an operator defined twice is a programming error."""
    from modelscan_vicious.loading import (
        onnx_graph_elementwise,
        onnx_graph_layers,
        onnx_graph_pooling,
        onnx_graph_shapes,
    )

    table: dict[str, Operator] = {}
    for part in (onnx_graph_layers, onnx_graph_elementwise, onnx_graph_shapes, onnx_graph_pooling):
        duplicated = table.keys() & part.OPERATORS.keys()
        assert not duplicated, f"operators defined twice: {sorted(duplicated)}"
        table.update(part.OPERATORS)
    return table


def onnx_to_torch(onnx_model: Any) -> fx.GraphModule:
    """Convert an in-memory onnx.ModelProto into a trainable torch.fx.GraphModule."""
    module = convert_graph(onnx_model)
    if not any(True for _ in module.parameters()):  # e.g. a graph of element-wise ops on constants only
        raise ModelNotTrainableError("the converted graph holds its weights as constants, not trainable parameters")
    return module


def convert_graph(model: Any) -> fx.GraphModule:
    from onnx import numpy_helper

    opset = _opset(model)
    graph = model.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in constants]  # initializers listed as inputs too
    if len(inputs) != 1:
        raise ModelNotTrainableError(f"cannot make a trainable copy: the ONNX graph has {len(inputs)} inputs, not one")
    nodes = list(graph.node)
    folded = fold_constants(nodes, constants, opset)
    runtime = [node for node in nodes if id(node) not in folded]
    builder = GraphBuilder(opset, _fixed_batch(inputs[0]), constants, _ranks(model), _consumers(runtime, graph))
    builder.values[inputs[0].name] = builder.graph.placeholder("x")
    table = _operators()
    for node in runtime:
        if id(node) not in builder.fused:
            _write(builder, table, node)
    outputs = []
    for value in graph.output:
        if value.name not in builder.values:
            raise ModelNotTrainableError(f"cannot make a trainable copy: the ONNX output {value.name} is a constant")
        outputs.append(builder.values[value.name])
    builder.graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    return fx.GraphModule(builder.root, builder.graph, class_name="ConvertedOnnxGraph")


def _write(builder: GraphBuilder, table: dict[str, Operator], proto: Any) -> None:
    """Add one ONNX node to the fx graph, its attributes checked against the ONNX schema."""
    if proto.domain not in _DEFAULT_DOMAINS or proto.op_type not in table:
        raise unsupported_operator(
            proto.op_type if proto.domain in _DEFAULT_DOMAINS else f"{proto.domain}.{proto.op_type}", builder.opset
        )
    spec = table[proto.op_type]
    node = OnnxNode(proto.op_type, proto.name, tuple(proto.input), tuple(proto.output), {}, builder.opset)
    node.attrs.update(_attributes(node, proto, spec))
    result = spec.convert(builder, node)
    results = result if isinstance(result, tuple) else (result,)
    for name, value in zip(node.outputs, results):
        if name:
            builder.values[name] = value
    for name in node.outputs[len(results) :]:
        if name and builder.consumers.get(name):
            raise node.refuse(f"does not support its output {name!r} being used")


def _attributes(node: OnnxNode, proto: Any, spec: Operator) -> dict[str, Any]:
    """Schema defaults for the model's opset, then the node's own values; refuses what `spec` ignores."""
    import onnx

    try:
        schema = onnx.defs.get_schema(node.op_type, node.opset, "")
    except onnx.defs.SchemaError as err:
        raise unsupported_operator(node.op_type, node.opset) from err
    defaults = {
        name: _value(attribute.default_value)
        for name, attribute in schema.attributes.items()
        if attribute.default_value.type != onnx.AttributeProto.UNDEFINED
    }
    explicit = {attribute.name: _value(attribute) for attribute in proto.attribute}
    for name, value in explicit.items():
        if name not in schema.attributes:
            raise node.refuse(f"has attribute {name}, which its ONNX schema does not define")
        if name not in spec.attributes and defaults.get(name, object()) != value:
            raise node.refuse(f"does not support attribute {name}={value!r}")
    return {**defaults, **explicit}


def _value(attribute: Any) -> Any:
    """An attribute's Python value, with strings as str (onnx gives bytes)."""
    from onnx import helper

    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    return value


def _opset(model: Any) -> int:
    versions = [entry.version for entry in model.opset_import if entry.domain in _DEFAULT_DOMAINS]
    return versions[0] if versions else 1


def _fixed_batch(value: Any) -> int | None:
    dims = value.type.tensor_type.shape.dim
    return int(dims[0].dim_value) if len(dims) > 0 and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None


def _ranks(model: Any) -> dict[str, int]:
    """Each value's rank as ONNX shape inference finds it (batch norm and softmax layouts need it)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # inference is a help, not a requirement: unknown ranks are handled per operator
        inferred = model.graph
    ranks = {}
    for value in [*inferred.input, *inferred.value_info, *inferred.output]:
        if value.type.tensor_type.HasField("shape"):
            ranks[value.name] = len(value.type.tensor_type.shape.dim)
    return ranks


def _consumers(nodes: list[Any], graph: Any) -> dict[str, list[Any]]:
    """The runtime nodes reading each value; a graph output counts as a reader too."""
    readers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in set(node.input):
            readers.setdefault(name, []).append(node)
    for value in graph.output:
        readers.setdefault(value.name, []).append("graph output")
    return readers
