"""Batch norm in exported models: traced TorchScript bakes `training=False` into every batch-norm call.

A reference copy re-initialised from such a graph would train with frozen, reset statistics, that
is without normalisation at all: a different model from the one the suspect's owner trained. Its
outputs collapse onto one or two directions within each class, unlike an honest suspect's, so the
viciousness evidence, which is relative to the references, is biased. Rewriting the flag restores
training-time normalisation in a copy.

ONNX exporters fold eval-mode batch norm into the preceding convolution; nothing is left to restore
there (README "Limitations").
"""

from __future__ import annotations

import torch
from torch import nn


def use_batch_statistics(module: nn.Module) -> int:
    """Make every traced batch-norm call in `module` normalise with batch statistics (and update its
    running statistics). Returns how many calls were rewritten; 0 for eager and converted-ONNX modules.

    Rewrite a copy that has not run yet, and never the copy used for predictions: a graph that
    already ran may keep its old plan.
    """
    rewritten = 0
    for sub in module.modules():
        graph = getattr(sub, "graph", None)
        if not isinstance(graph, torch._C.Graph):
            continue
        # findAllNodes and insertConstant exist on torch._C.Graph but are missing from its type stubs.
        for node in graph.findAllNodes("aten::batch_norm"):  # type: ignore[attr-defined]
            training = node.inputsAt(5)
            if training.node().kind() != "prim::Constant" or training.toIValue() is not False:
                continue
            with graph.insert_point_guard(node):
                node.replaceInput(5, graph.insertConstant(True))  # type: ignore[attr-defined]
            rewritten += 1
    return rewritten
