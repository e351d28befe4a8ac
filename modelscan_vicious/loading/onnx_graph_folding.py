"""Constant folding: every ONNX node whose inputs are all constants is evaluated once, at conversion.

Graphs compute weights as well as activations: the ONNX model zoo's "light" models make every
weight with ConstantOfShape from a shape initializer, exporters write `Constant` and `Identity`
nodes, and shape arithmetic on constants (Shape -> Gather -> Unsqueeze) feeds Reshape. Folding
turns all of those into arrays, so weights become layer parameters and shapes literals.
"""

from __future__ import annotations

import numpy as np
from onnx import AttributeProto, NodeProto, numpy_helper

# evaluated per call, never folded: the released model draws new values on every query
_RANDOM = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial"}
)
_SUBGRAPHS = (AttributeProto.GRAPH, AttributeProto.GRAPHS)


def fold_constants(nodes: list[NodeProto], constants: dict[str, np.ndarray], opset: int) -> set[int]:
    """Add the outputs of every all-constant node to `constants`; returns the ids of the nodes folded."""
    folded: set[int] = set()
    for node in nodes:
        if node.domain not in ("", "ai.onnx") or node.op_type in _RANDOM:
            continue
        if any(name and name not in constants for name in node.input):
            continue
        if any(attribute.type in _SUBGRAPHS for attribute in node.attribute):
            continue
        values = _evaluate(node, constants, opset)
        if values is None:
            continue
        constants.update((name, value) for name, value in zip(node.output, values) if name)
        folded.add(id(node))
    return folded


def _evaluate(node: NodeProto, constants: dict[str, np.ndarray], opset: int) -> list[np.ndarray] | None:
    if node.op_type == "ConstantOfShape":  # the light models' 836 weights: skip the evaluator's set-up
        value = next((numpy_helper.to_array(a.t) for a in node.attribute if a.name == "value"), None)
        fill = value.reshape(-1)[0] if value is not None else np.float32(0)
        return [np.full([int(d) for d in constants[node.input[0]]], fill, dtype=np.asarray(fill).dtype)]
    if node.op_type == "Identity":
        return [constants[node.input[0]]]
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(node, opsets={"": opset})
        outputs = evaluator.run(None, {name: constants[name] for name in node.input if name})
    except Exception:  # an operator the evaluator lacks stays in the graph: the operator table decides
        return None
    return [np.asarray(value) for value in outputs]
