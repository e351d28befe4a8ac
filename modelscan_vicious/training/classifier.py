"""Training a classifier for its task alone: the classification loss, default re-initialisation,
and batched prediction. Honest references (detectors/references.py) and the tests build on these.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modelscan_vicious.release import PROBABILITY_FLOOR


def classification_loss(outputs: torch.Tensor, labels: torch.Tensor, output_kind: str) -> torch.Tensor:
    """Cross-entropy on logits, or negative log-likelihood on a probability-output model."""
    if output_kind == "probabilities":
        return F.nll_loss(torch.log(outputs.clamp_min(PROBABILITY_FLOOR)), labels)
    return F.cross_entropy(outputs, labels)


@torch.no_grad()
def reinitialise(module: nn.Module, seed: int, only: Collection[str] | None = None) -> nn.Module:
    """Fresh weights by PyTorch's default rules, from parameter names and shapes alone.

    Works on any module, including TorchScript and converted ONNX graphs whose layers cannot be
    asked to `reset_parameters()`: matrices and kernels get Kaiming-uniform, biases uniform in
    +-1/sqrt(fan_in), 1-D scales 1 (PReLU slopes 0.25), and normalisation statistics their initial values.
    `only`: re-initialise just these parameters (by name), leaving every other weight and statistic.
    """
    generator = torch.Generator().manual_seed(seed)
    prelu_prefixes = {name for name, sub in module.named_modules() if isinstance(sub, nn.PReLU)}
    fan_in_of: dict[str, int] = {}
    for name, param in module.named_parameters():
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        if only is not None and name not in only:
            continue
        if param.dim() >= 2:
            fan_in = int(np.prod(param.shape[1:]))
            fan_in_of[prefix] = fan_in
            bound = math.sqrt(6.0 / ((1 + 5.0) * fan_in))  # kaiming_uniform_ with a = sqrt(5)
            param.copy_(torch.empty(param.shape).uniform_(-bound, bound, generator=generator))
    for name, param in module.named_parameters():
        if param.dim() != 1 or (only is not None and name not in only):
            continue
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        if name.endswith("bias") and prefix in fan_in_of:
            bound = 1.0 / math.sqrt(fan_in_of[prefix])
            param.copy_(torch.empty(param.shape).uniform_(-bound, bound, generator=generator))
        elif name.endswith("bias"):
            param.zero_()
        elif prefix in prelu_prefixes:
            param.fill_(0.25)  # nn.PReLU's default slope; 1.0 would make it the identity
        else:
            param.fill_(1.0)
    for name, buffer in module.named_buffers() if only is None else ():
        if name.endswith("running_mean"):
            buffer.zero_()
        elif name.endswith("running_var"):
            buffer.fill_(1.0)
    return module


def train_classifier(
    module: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    output_kind: str,
    epochs: int | None = None,
    steps: int | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    seed: int = 0,
    device: str = "cpu",
    frozen_statistics: bool = False,
) -> nn.Module:
    """Classification loss only, Adam; train for `epochs` passes or exactly `steps` mini-batches.

    `frozen_statistics`: train in eval mode, so batch norm keeps its running statistics (and dropout is
    off); for copies whose frozen layers must stay exactly the suspect's."""
    generator = torch.Generator().manual_seed(seed)
    module = module.to(device).train(not frozen_statistics)
    optimizer = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    x_all = torch.from_numpy(images.astype(np.float32)).to(device)
    y_all = torch.from_numpy(labels.astype(np.int64)).to(device)
    done, total = 0, steps if steps is not None else (epochs or 1) * math.ceil(len(x_all) / batch_size)
    while done < total:
        for index in torch.randperm(len(x_all), generator=generator).split(batch_size):
            if len(index) == 1 and len(x_all) > 1:
                # Batch norm cannot normalise one input: eager PyTorch refuses it, and a copy with
                # restored batch statistics would take a NaN running variance from it.
                continue
            loss = classification_loss(module(x_all[index.to(device)]), y_all[index.to(device)], output_kind)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done >= total:
                break
    return module.eval()


def module_predictor(module: nn.Module, device: str = "cpu", batch_size: int = 512):
    """numpy (N, C, H, W) -> numpy outputs, without gradients."""

    def predict(images: np.ndarray) -> np.ndarray:
        outs = []
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                batch = torch.from_numpy(images[i : i + batch_size].astype(np.float32)).to(device)
                outs.append(module(batch).float().cpu().numpy())
        return np.concatenate(outs)

    return predict
