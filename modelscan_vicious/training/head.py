"""Head re-training: an honest reference for models too large to train from scratch on a small set.

Training a ResNet-50 from scratch on 50-200 labelled images is slow on a CPU, and what it yields is not
what an honest ResNet-50 looks like. The head copy instead keeps the suspect's weights everywhere except
its head (the output layer and the weight layer before it), which is re-initialised and trained with
the classification loss alone while the rest stays frozen (batch-norm statistics too). What it
isolates is how the suspect maps its own features to its outputs: a vicious head that packs the input
into the logits differs from one trained for the task, while whatever the frozen features already
carry they carry in both (so head references are weaker evidence than from-scratch ones, and the
report says so). A normalisation layer between the two head layers (a ResNet's last batch norm) stays
the suspect's, frozen: in eval mode it is a fixed affine map the re-trained layers adapt to.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from modelscan_vicious.training.classifier import reinitialise, train_classifier

# Weight layers re-trained, counted back from the output layer. Measured on the MNIST sample CNN: with
# the output layer alone, the vicious model's re-trained copies leaked as much as it did (R 0.93-0.94 vs
# 0.937; P(vicious) 0.30); with the layer before it too, they leaked like the honest model's (P 0.985
# for the vicious sample, 0.069 for the honest one; docs/benchmarks.md, "Head references").
HEAD_DEPTH = 2


def head_parameters(module: nn.Module, n_outputs: int, depth: int = HEAD_DEPTH) -> list[str]:
    """Names of the head's parameters: the output layer (the last matrix or kernel with `n_outputs`
    output rows: a Linear, a Gemm, a 1x1 convolution head), the `depth - 1` weight layers registered
    before it (the graph's order for converted ONNX graphs, definition order for eager and TorchScript
    modules; a module that defines its output layer first gets fewer), and their biases. Empty when the
    graph has no such output layer. The report's notes list the names."""
    named = list(module.named_parameters())
    names = [name for name, _ in named]
    outputs = [name for name, param in named if param.dim() >= 2 and param.shape[0] == n_outputs]
    if not outputs:
        return []
    last = names.index(outputs[-1])
    weights = [name for name, param in named[: last + 1] if param.dim() >= 2][-depth:]
    layers = {_layer(name) for name in weights}
    return [name for name, param in named if name in weights or (param.dim() == 1 and _layer(name) in layers)]


def _layer(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def retrain_head(
    module: nn.Module,
    head: list[str],
    images: np.ndarray,
    labels: np.ndarray,
    *,
    output_kind: str,
    epochs: int,
    weight_decay: float,
    seed: int,
    device: str,
) -> nn.Module:
    """`module` with the parameters named in `head` re-initialised and trained for the task alone, every
    other parameter and statistic kept as the suspect's. Returns the module in eval mode, all parameters
    trainable again (later stages fine-tune whole copies)."""
    reinitialise(module, seed, only=set(head))
    for name, param in module.named_parameters():
        param.requires_grad_(name in head)
    trained = train_classifier(
        module,
        images,
        labels,
        output_kind=output_kind,
        epochs=epochs,
        weight_decay=weight_decay,
        seed=seed,
        device=device,
        frozen_statistics=True,
    )
    for param in trained.parameters():
        param.requires_grad_(True)
    return trained
