"""Batch norm that an ONNX exporter folded into the convolutions before it.

Exporters fold eval-mode batch norm into the preceding convolution: the graph keeps only a conv
whose bias is `beta - gamma * mean / std`. A reference copy re-initialised from that graph would
train with no normalisation at all, a different model from the one the owner trained (the TorchScript
counterpart is `batch_norm.py`). The folded bias gives it away: plain training leaves a conv's bias
near its initial range, +-1/sqrt(fan_in), while a folded one sits many times outside it.

A copy with folded batch norm therefore trains with a BatchNorm2d after each convolution, and folds
it back after training, as the exporter did, so the trained reference has the suspect's exact graph.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

# mean |bias| * sqrt(fan_in): about 0.5 at initialisation, and under 1 after plain training in every
# fixture we measured; folded batch norm gives several units or more (docs/benchmarks.md).
FOLDED_BIAS_SCORE = 2.0
INSERTED_PREFIX = "restored_batch_norm_"


def conv_bias_scores(module: nn.Module) -> list[float]:
    """Each biased Conv2d's mean |bias| in units of its initial bound 1/sqrt(fan_in)."""
    scores = []
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d) and conv.bias is not None:
            fan_in = conv.weight[0].numel()
            scores.append(float(conv.bias.detach().abs().mean()) * math.sqrt(fan_in))
    return scores


def has_folded_batch_norm(module: nn.Module) -> bool:
    """True for a converted ONNX graph whose convolutions carry folded batch norm."""
    if not _graph_modules(module):
        return False
    return max(conv_bias_scores(module), default=0.0) > FOLDED_BIAS_SCORE


def insert_batch_norm(module: nn.Module) -> list[tuple[fx.GraphModule, str, str]]:
    """Put a fresh BatchNorm2d after every biased Conv2d of each fx graph in `module` (in place);
    folding always leaves a bias, so a conv without one had no batch norm.

    Returns (graph module, conv target, batch-norm target) per insertion, for `fold_batch_norm`.
    """
    inserted: list[tuple[fx.GraphModule, str, str]] = []
    for graph_module in _graph_modules(module):
        graph = graph_module.graph
        for node in list(graph.nodes):
            conv = graph_module.get_submodule(node.target) if node.op == "call_module" else None
            if not isinstance(conv, nn.Conv2d) or conv.bias is None:
                continue
            target = f"{INSERTED_PREFIX}{len(inserted)}"
            graph_module.add_submodule(target, nn.BatchNorm2d(conv.out_channels).to(conv.weight.device))
            with graph.inserting_after(node):
                norm = graph.call_module(target, (node,))
            node.replace_all_uses_with(norm, delete_user_cb=lambda user, norm=norm: user is not norm)
            inserted.append((graph_module, node.target, target))
        graph_module.recompile()
    return inserted


@torch.no_grad()
def fold_batch_norm(inserted: list[tuple[fx.GraphModule, str, str]]) -> None:
    """Fold each inserted batch norm's running statistics into its conv and take it out of the graph."""
    touched = set()
    for graph_module, conv_target, norm_target in inserted:
        conv = cast(nn.Conv2d, graph_module.get_submodule(conv_target))
        norm = cast(nn.BatchNorm2d, graph_module.get_submodule(norm_target))
        # insert_batch_norm only wraps biased convs, with batch norms that track running statistics
        assert conv.bias is not None and norm.running_mean is not None and norm.running_var is not None
        weight, bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight, norm.bias
        )
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        for node in list(graph_module.graph.nodes):
            if node.op == "call_module" and node.target == norm_target:
                node.replace_all_uses_with(node.args[0])
                graph_module.graph.erase_node(node)
        graph_module.delete_submodule(norm_target)
        touched.add(graph_module)
    for graph_module in touched:
        graph_module.recompile()


def _graph_modules(module: nn.Module) -> list[fx.GraphModule]:
    return [m for m in module.modules() if isinstance(m, fx.GraphModule)]
