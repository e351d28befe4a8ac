"""Generate the empirical allow-list of TorchScript node kinds in modelscan_vicious/loading/torchscript_operators.py.

Why empirical: the scanner executes untrusted TorchScript, so it accepts only node kinds that honest image
classifiers actually produce. This script scripts and traces every public `torch.nn` layer such a classifier
could contain (each class in `torch.nn.modules.__all__` is either built here or excluded with a reason, so a
new torch version cannot add a layer silently), the functional patterns classifiers use in `forward`, and
small ResNet-, MobileNetV2- and ViT-style nets in train and eval mode, frozen and not, before and after a
torch.jit.save/load round trip (the scanner sees the reloaded graphs). It walks every method of every
submodule with the same walker the scanner uses, subtracts DENIED_OPERATORS and foreign namespaces, and
rewrites the block between the BEGIN/END GENERATED markers.

    .venv/bin/python scripts/torchscript_allowlist.py          # regenerate and print a summary
    .venv/bin/python scripts/torchscript_allowlist.py --check  # exit 1 if the stored list is out of date

Regenerate whenever the torch pin changes: kinds differ between versions.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402  (after OMP_NUM_THREADS, which torch reads at import)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelscan_vicious.loading.torchscript_operators import (  # noqa: E402
    ALLOWED_NAMESPACES,
    ALLOWED_OPERATORS,
    DENIED_OPERATORS,
    refusal_reason,
    scripted_operator_kinds,
)

TARGET = ROOT / "modelscan_vicious" / "loading" / "torchscript_operators.py"
BEGIN = "# BEGIN GENERATED (scripts/torchscript_allowlist.py)"
END = "# END GENERATED"

torch.set_num_threads(1)


@dataclass(frozen=True)
class Case:
    """One module to compile: `inputs` builds the example arguments for tracing (and a sanity call)."""

    name: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple[Any, ...]]
    train_too: bool = False  # also trace in training mode (batch norm and dropout record different calls)


def rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


def x1() -> tuple[torch.Tensor]:
    return (rand(2, 4, 8),)


def x2() -> tuple[torch.Tensor]:
    return (rand(2, 4, 8, 8),)


def x3() -> tuple[torch.Tensor]:
    return (rand(2, 4, 4, 4, 4),)


def flat() -> tuple[torch.Tensor]:
    return (rand(2, 8),)


def seq() -> tuple[torch.Tensor]:
    return (rand(2, 5, 8),)  # (batch, tokens, features): batch_first everywhere


def tokens() -> tuple[torch.Tensor]:
    return (torch.randint(0, 10, (2, 5)),)


BY_DIM = {1: x1, 2: x2, 3: x3}


# ---------------------------------------------------------------------------------------------------- layers

EXCLUDED: dict[str, str] = {
    "FractionalMaxPool2d": "draws random pooling regions from the RNG on every call, even in eval mode",
    "FractionalMaxPool3d": "draws random pooling regions from the RNG on every call, even in eval mode",
    "CrossMapLRN2d": "a Python autograd Function: cannot be scripted or saved (LocalResponseNorm is covered)",
    "SyncBatchNorm": "multi-process training layer (process-group collectives); exported as BatchNorm*",
    "AdaptiveLogSoftmaxWithLoss": "a loss head: forward needs the targets",
    "Module": "abstract base class",
    "Container": "deprecated abstract container",
    "RNNBase": "abstract base of RNN/LSTM/GRU, which are covered",
    "RNNCellBase": "abstract base of RNNCell/LSTMCell/GRUCell, which are covered",
    "LinearCrossEntropyOptions": "an options record, not a layer",
}
for _name in torch.nn.modules.__all__:
    if _name.startswith("Lazy"):
        EXCLUDED[_name] = "lazy: cannot be compiled before materialising into its covered eager class"
    elif _name.endswith("Loss") or _name == "NLLLoss2d":
        EXCLUDED[_name] = "a training loss, not part of a deployed classifier"


class MaxThenUnpool(nn.Module):
    """MaxUnpool needs the indices of a matching MaxPool."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool = getattr(nn, f"MaxPool{dim}d")(2, return_indices=True)
        self.unpool = getattr(nn, f"MaxUnpool{dim}d")(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, indices = self.pool(x)
        return self.unpool(y, indices)


class LoopOverList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i % 2 == 0 else layer(x) + x
        return self.layers[-1](x)


class PickFromDict(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({"a": nn.Linear(8, 3), "b": nn.Linear(8, 3)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(x.size(0), 3)
        for name, head in self.heads.items():
            total = total + head(x) if name != "b" else total - head(x)
        return total + self.heads["a"](x)


class Parameters(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(8)) for _ in range(2)])
        self.shifts = nn.ParameterDict({"a": nn.Parameter(torch.zeros(8))})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for scale in self.scales:
            x = x * scale
        return x + self.shifts["a"]


def encoder_layer(**kwargs: Any) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True, **kwargs)


def decoder_layer(**kwargs: Any) -> nn.TransformerDecoderLayer:
    return nn.TransformerDecoderLayer(8, 2, 16, dropout=0.1, batch_first=True, **kwargs)


def layer_cases() -> dict[str, list[Case]]:
    cases: dict[str, list[Case]] = defaultdict(list)

    def add(cls: str, build: Callable[[], nn.Module], inputs: Callable[[], tuple[Any, ...]], tag: str = "") -> None:
        cases[cls].append(Case(f"{cls}{'(' + tag + ')' if tag else ''}", build, inputs))

    for d, inputs in BY_DIM.items():
        add(f"Conv{d}d", lambda d=d: getattr(nn, f"Conv{d}d")(4, 6, 3), inputs)
        add(
            f"Conv{d}d",
            lambda d=d: getattr(nn, f"Conv{d}d")(4, 4, 3, padding="same", groups=2, dilation=2),
            inputs,
            "same,groups,dilation",
        )
        for mode in ("reflect", "replicate", "circular"):
            add(
                f"Conv{d}d",
                lambda d=d, mode=mode: getattr(nn, f"Conv{d}d")(4, 6, 3, padding=1, padding_mode=mode),
                inputs,
                mode,
            )
        add(f"ConvTranspose{d}d", lambda d=d: getattr(nn, f"ConvTranspose{d}d")(4, 6, 3, stride=2), inputs)
        add(f"BatchNorm{d}d", lambda d=d: getattr(nn, f"BatchNorm{d}d")(4), inputs)
        add(f"InstanceNorm{d}d", lambda d=d: getattr(nn, f"InstanceNorm{d}d")(4, affine=True), inputs)
        add(
            f"InstanceNorm{d}d",
            lambda d=d: getattr(nn, f"InstanceNorm{d}d")(4, track_running_stats=True),
            inputs,
            "running stats",
        )
        add(f"MaxPool{d}d", lambda d=d: getattr(nn, f"MaxPool{d}d")(2, ceil_mode=True), inputs)
        add(f"AvgPool{d}d", lambda d=d: getattr(nn, f"AvgPool{d}d")(2, padding=1, count_include_pad=False), inputs)
        add(f"AdaptiveAvgPool{d}d", lambda d=d: getattr(nn, f"AdaptiveAvgPool{d}d")(2), inputs)
        add(f"AdaptiveMaxPool{d}d", lambda d=d: getattr(nn, f"AdaptiveMaxPool{d}d")(2), inputs)
        add(f"LPPool{d}d", lambda d=d: getattr(nn, f"LPPool{d}d")(2, 2), inputs)
        add(f"MaxUnpool{d}d", lambda d=d: MaxThenUnpool(d), inputs)
        add(f"Dropout{d}d", lambda d=d: getattr(nn, f"Dropout{d}d")(0.2), inputs)
        for pad in ("Circular", "Constant", "Reflection", "Replication", "Zero"):
            args = (1, 0.5) if pad == "Constant" else (1,)
            add(f"{pad}Pad{d}d", lambda d=d, pad=pad, args=args: getattr(nn, f"{pad}Pad{d}d")(*args), inputs)
    add("Linear", lambda: nn.Linear(8, 3), flat)
    add("Bilinear", lambda: nn.Bilinear(8, 8, 3), lambda: (rand(2, 8), rand(2, 8)))
    add("Identity", nn.Identity, x2)
    add("Flatten", nn.Flatten, x2)
    add("Unflatten", lambda: nn.Unflatten(1, (2, 2)), x2)
    add("Fold", lambda: nn.Fold((4, 4), 2), lambda: (rand(2, 16, 9),))
    add("Unfold", lambda: nn.Unfold(2, stride=2), x2)
    add("PixelShuffle", lambda: nn.PixelShuffle(2), x2)
    add("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), x2)
    add("ChannelShuffle", lambda: nn.ChannelShuffle(2), x2)
    for mode, corners in (("nearest", None), ("bilinear", False), ("bilinear", True), ("bicubic", False)):
        add(
            "Upsample",
            lambda mode=mode, corners=corners: nn.Upsample(None, 2.0, mode, corners),
            x2,
            f"{mode},align_corners={corners}",
        )
    add("Upsample", lambda: nn.Upsample(size=(5, 7), mode="nearest-exact"), x2, "size,nearest-exact")
    add("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2), x2)
    add("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=2), x2)
    add("GroupNorm", lambda: nn.GroupNorm(2, 4), x2)
    add("LayerNorm", lambda: nn.LayerNorm(8), x2)
    add("LayerNorm", lambda: nn.LayerNorm([4, 8, 8], elementwise_affine=False), x2, "no affine")
    add("RMSNorm", lambda: nn.RMSNorm(8), x2)
    add("RMSNorm", lambda: nn.RMSNorm([8, 8], eps=1e-5), x2, "eps")
    add("LocalResponseNorm", lambda: nn.LocalResponseNorm(2), x2)
    for dropout in ("Dropout", "AlphaDropout", "FeatureAlphaDropout"):
        add(dropout, lambda dropout=dropout: getattr(nn, dropout)(0.2), x2)
    activations = {
        "CELU": (), "ELU": (), "GELU": (), "GLU": (), "Hardshrink": (), "Hardsigmoid": (), "Hardswish": (),
        "Hardtanh": (), "LeakyReLU": (), "LogSigmoid": (), "Mish": (), "PReLU": (), "RReLU": (), "ReLU": (),
        "ReLU6": (), "SELU": (), "SiLU": (), "Sigmoid": (), "Softplus": (), "Softshrink": (), "Softsign": (),
        "Tanh": (), "Tanhshrink": (), "Threshold": (0.1, 0.0), "Softmax": (1,), "Softmin": (1,),
        "LogSoftmax": (1,), "Softmax2d": (),
    }  # fmt: skip
    for cls, args in activations.items():
        add(cls, lambda cls=cls, args=args: getattr(nn, cls)(*args), x2)
    for cls in ("ReLU", "ReLU6", "Hardswish", "Hardsigmoid", "SiLU", "LeakyReLU", "ELU", "Hardtanh", "Mish"):
        add(cls, lambda cls=cls: getattr(nn, cls)(inplace=True), x2, "inplace")
    add("GELU", lambda: nn.GELU(approximate="tanh"), x2, "tanh")
    add("PReLU", lambda: nn.PReLU(4), x2, "per channel")
    add("Softmax", lambda: nn.Softmax(), x2, "implicit dim")
    add("CosineSimilarity", nn.CosineSimilarity, lambda: (rand(2, 8), rand(2, 8)))
    add("PairwiseDistance", nn.PairwiseDistance, lambda: (rand(2, 8), rand(2, 8)))
    add("Embedding", lambda: nn.Embedding(10, 8), tokens)
    add("Embedding", lambda: nn.Embedding(10, 8, padding_idx=0, max_norm=1.0), tokens, "max_norm")
    for mode in ("sum", "mean", "max"):
        add("EmbeddingBag", lambda mode=mode: nn.EmbeddingBag(10, 8, mode=mode), tokens, mode)
    for cls in ("RNN", "LSTM", "GRU"):
        add(cls, lambda cls=cls: getattr(nn, cls)(8, 6, batch_first=True), seq)
        add(
            cls,
            lambda cls=cls: getattr(nn, cls)(8, 6, 2, batch_first=True, bidirectional=True, dropout=0.1),
            seq,
            "2 layers,bidirectional",
        )
        add(f"{cls}Cell", lambda cls=cls: getattr(nn, f"{cls}Cell")(8, 6), flat)
    add("RNN", lambda: nn.RNN(8, 6, nonlinearity="relu"), lambda: (rand(5, 2, 8),), "relu,seq first")
    add("LSTM", lambda: nn.LSTM(8, 6, proj_size=3, batch_first=True), seq, "proj_size")
    add("MultiheadAttention", lambda: nn.MultiheadAttention(8, 2, batch_first=True), lambda: seq() * 3)
    add(
        "MultiheadAttention",
        lambda: nn.MultiheadAttention(8, 2, kdim=4, vdim=4),
        lambda: (rand(5, 2, 8), rand(5, 2, 4), rand(5, 2, 4)),
        "kdim,vdim",
    )
    add("TransformerEncoderLayer", encoder_layer, seq)
    add("TransformerEncoderLayer", lambda: encoder_layer(norm_first=True, activation="gelu"), seq, "norm_first,gelu")
    add("TransformerDecoderLayer", decoder_layer, lambda: seq() * 2)
    add("TransformerDecoderLayer", lambda: decoder_layer(norm_first=True), lambda: seq() * 2, "norm_first")
    add("TransformerEncoder", lambda: nn.TransformerEncoder(encoder_layer(), 2, enable_nested_tensor=False), seq)
    add("TransformerDecoder", lambda: nn.TransformerDecoder(decoder_layer(), 2), lambda: seq() * 2)
    add("Transformer", lambda: nn.Transformer(8, 2, 1, 1, 16, batch_first=True), lambda: seq() * 2)
    add("Sequential", lambda: nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)), x2)
    add("ModuleList", LoopOverList, flat)
    add("ModuleDict", PickFromDict, flat)
    add("ParameterList", Parameters, flat)
    add("ParameterDict", Parameters, flat)
    return cases


# ----------------------------------------------------------------------------------- functional patterns


class Reshaping(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        size = x.size()
        y = self.conv(x) + torch.cat([x, x], dim=1)  # residual add
        a, b = torch.chunk(y, 2, dim=1)
        parts = torch.split(y, [4, 4], dim=1)
        halves = y.split(4, 1)
        y = torch.cat([a * b, parts[0] - parts[1] + halves[0]], 1)
        y = y.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
        y = y.transpose(2, 3).reshape(n, -1, h, w).contiguous().view(n, 8, h * w).view(size[0], 8, h, w)
        y = y.flatten(2).unsqueeze(1).squeeze(1).view(-1, 8, h, w)
        y = y[:, :4] + y[:, 4:, ...] + y[:, 0:1, ::2].repeat(1, 1, 2, 1)
        return torch.flatten(y, 1) + torch.flatten(x, start_dim=1).repeat(1, 1)


class Reductions(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3))
        peak = torch.amax(x, dim=(2, 3)) + x.amin(dim=[2, 3])
        total = x.sum(dim=1, keepdim=True).sum(-1).sum(-1)
        best, index = torch.max(mean, dim=1)
        spread = x.std(dim=(2, 3)) + x.var(dim=(2, 3), unbiased=False) + x.flatten(1).norm(2, 1, True)
        top, _ = mean.topk(2, dim=1)
        top = top.sum(1, True) + mean.argmax(1, keepdim=True).float() + mean.abs().log().mean(1, True)
        logits = mean + peak + total + spread + best.unsqueeze(1) + index.unsqueeze(1).float() + top.sum(1, True)
        return torch.stack([logits.softmax(1), F.log_softmax(logits, dim=1), torch.sigmoid(logits)], 0).mean(0)


class Resampling(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        near = F.interpolate(x, scale_factor=2.0, mode="nearest")
        bilinear = F.interpolate(x, size=(h * 2, w * 2), mode="bilinear", align_corners=False)
        bicubic = F.interpolate(x, size=[int(h * 2), int(w * 2)], mode="bicubic", align_corners=True)
        area = F.interpolate(x, scale_factor=2.0, mode="area")
        y = near + bilinear + bicubic + area
        y = F.adaptive_avg_pool2d(y, 1) + F.avg_pool2d(y, 2).mean() + F.max_pool2d(y, 2, 2).amax()
        padded = F.pad(x, (1, 1, 1, 1)) + F.pad(x, [1, 1, 1, 1], mode="reflect")
        padded = padded + F.pad(x, (1, 1, 1, 1), mode="replicate") + F.pad(x, (1, 1, 1, 1), "circular")
        padded = padded + F.pad(x, (1, 1, 1, 1), value=0.5)
        return y.flatten(1) + padded.mean((2, 3))


class Elementwise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, 4, 1, 1))
        self.register_buffer("std", torch.ones(1, 4, 1, 1))
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        y = F.normalize(x, dim=1) + F.normalize(x.flatten(1), p=2.0, dim=-1).view_as(x)
        y = F.gelu(y, approximate="tanh") + F.gelu(y) + F.relu(y) + F.silu(y) + F.hardswish(y) + F.relu6(y)
        y = torch.clamp(y, -1.0, 1.0) + y.clamp(min=0.0) + torch.clamp_min(y, 0.1) + y.clamp_max(2.0)
        y = torch.where(y > 0, y, 0.1 * y) + torch.where(y < 0, torch.zeros_like(y), y)
        y = y * self.scale.view(1, -1, 1, 1) + torch.ones_like(y) - y.abs().sqrt() + y.exp().log1p()
        y = y.masked_fill(y > 3.0, 3.0) + y.pow(2) + y**0.5 * 0 + torch.rsqrt(y.abs() + 1e-5) + y.tanh()
        y = F.dropout(y, 0.1, self.training) + F.leaky_relu(y, 0.2) + F.elu(y) + F.softplus(y)
        y = y.to(torch.float32).float().type_as(x).detach().clone()
        y = F.relu(y, inplace=True)
        y.mul_(2.0).add_(1.0).div_(2.0).sub_(0.5)
        return y.clamp_(0.0, 6.0).sum((2, 3))


class Algebra(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3))
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2)  # (n, hw, c)
        attention = torch.matmul(tokens, tokens.transpose(-2, -1)) / float(tokens.size(-1)) ** 0.5
        mixed = torch.einsum("bij,bjc->bic", attention.softmax(-1), tokens) + tokens @ torch.eye(4)
        pooled = torch.bmm(mixed.transpose(1, 2), mixed).flatten(1)[:, :8]
        logits = F.linear(pooled, self.weight.t(), self.bias) + torch.mm(pooled, self.weight) + self.bias
        return torch.addmm(self.bias, pooled, self.weight) + logits


class Control(nn.Module):
    """Python control flow that scripting keeps: loops, comprehensions, conversions, `self.training`."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(3)])
        self.scale_factor = 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(0)
        h = int(x.shape[2])
        scale = float(h) * self.scale_factor
        features = [block(x) for block in self.blocks]
        for i in range(len(features)):
            if i > 0:
                features[i] = features[i] + features[i - 1]
        total = torch.stack(features, dim=0).sum(0)
        if self.training:
            total = total * 0.9
        else:
            total = total * 1.0
        outputs: list[torch.Tensor] = []
        for feature in features:
            outputs.append(feature.mean((2, 3)))
        steps = 0
        while steps < 2:
            total = total + 1.0
            steps += 1
        position = torch.arange(4, dtype=torch.float32).view(1, 4) + torch.full((1, 4), scale)
        result = torch.cat(outputs, 1)[:, :4] + total.mean((2, 3)) + position
        return result.view(n, -1) if h > 1 else result.new_zeros(n, 4)


def pattern_cases() -> list[Case]:
    return [
        Case(f"pattern:{cls.__name__}", cls, x2, train_too=True)
        for cls in (Reshaping, Reductions, Resampling, Elementwise, Algebra, Control)
    ]


# ---------------------------------------------------------------------------------------------- whole nets


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Identity()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNet18ish(nn.Module):
    """ResNet-18's layout ([2, 2, 2, 2] basic blocks) at a fraction of its width."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, layers, cin = (8, 16, 32, 64), [], 8
        for i, width in enumerate(widths):
            layers.append(nn.Sequential(BasicBlock(cin, width, 1 if i == 0 else 2), BasicBlock(width, width, 1)))
            cin = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2ish(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True)]
        cin = 8
        for expand, cout, repeats, stride in ((1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)):
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        blocks += [nn.Conv2d(cin, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class TinyViT(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.position = nn.Parameter(torch.zeros(1, 17, 16))
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, norm_first=True, activation="gelu"),
            2,
            enable_nested_tensor=False,
        )
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.position
        return self.head(self.norm(self.encoder(tokens))[:, 0])


def image() -> tuple[torch.Tensor]:
    return (rand(2, 3, 16, 16),)


def net_cases() -> list[Case]:
    small_cnn = lambda: nn.Sequential(  # noqa: E731
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(16, 10),
        nn.LogSoftmax(1),
    )
    mlp = lambda: nn.Sequential(  # noqa: E731
        nn.Flatten(),
        nn.Linear(768, 32),
        nn.BatchNorm1d(32),
        nn.GELU(),
        nn.Dropout(0.1),
        nn.Linear(32, 10),
        nn.Softmax(dim=1),
    )
    return [
        Case(f"net:{name}", build, image, train_too=True)
        for name, build in (
            ("SmallCNN", small_cnn),
            ("MLP", mlp),
            ("ResNet18ish", ResNet18ish),
            ("MobileNetV2ish", MobileNetV2ish),
            ("TinyViT", TinyViT),
        )
    ]


# ----------------------------------------------------------------------------------------------- compiling


def reloaded(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def variants(case: Case) -> tuple[dict[str, torch.jit.ScriptModule], dict[str, str]]:
    """Every compiled form of `case` that torch produces: scripted, traced (eval, and train when asked),
    each frozen and each reloaded. Returns (forms by label, failures by label)."""
    forms: dict[str, torch.jit.ScriptModule] = {}
    failures: dict[str, str] = {}

    def attempt(label: str, make: Callable[[], torch.jit.ScriptModule]) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer and nested-tensor warnings are expected here
                forms[label] = make()
        except Exception as err:  # noqa: BLE001  (a form torch cannot produce is reported, not fatal)
            failures[label] = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__

    torch.manual_seed(0)
    attempt("script", lambda: torch.jit.script(case.build().eval()))
    attempt("trace", lambda: torch.jit.trace(case.build().eval(), case.inputs(), check_trace=False))
    if case.train_too:
        attempt("trace train", lambda: torch.jit.trace(case.build().train(), case.inputs(), check_trace=False))
    for label in [label for label in forms if "train" not in label]:
        attempt(f"{label} frozen", lambda label=label: torch.jit.freeze(forms[label].eval()))
    for label in list(forms):
        attempt(f"{label} reloaded", lambda label=label: reloaded(forms[label]))
    for label, form in list(forms.items()):  # a form that cannot run proves nothing about honest graphs
        if not form._c._has_method("forward"):
            continue  # scripted RNN/LSTM/GRU compile only their overloads (forward__0, forward__1)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                form(*case.inputs())
        except Exception as err:  # noqa: BLE001
            del forms[label]
            failures[f"{label} run"] = str(err).strip().splitlines()[0][:160] or type(err).__name__
    return forms, failures


def collect() -> tuple[dict[str, set[str]], dict[str, dict[str, str]], int]:
    """Node kind -> the cases that produced it; case -> failures; number of graphs walked."""
    cases = [case for group in layer_cases().values() for case in group] + pattern_cases() + net_cases()
    seen: dict[str, set[str]] = defaultdict(set)
    failures: dict[str, dict[str, str]] = {}
    graphs = 0
    for case in cases:
        forms, failed = variants(case)
        if failed:
            failures[case.name] = failed
        for label, form in forms.items():
            for kinds in scripted_operator_kinds(form).values():
                graphs += 1
                for kind in kinds:
                    seen[kind].add(f"{case.name} [{label}]")
    return seen, failures, graphs


def uncovered_classes() -> list[str]:
    covered = set(layer_cases()) | set(EXCLUDED)
    return sorted(name for name in torch.nn.modules.__all__ if name not in covered)


# --------------------------------------------------------------------------------------------------- output


def generated_block(allowed: list[str], graphs: int) -> str:
    lines = [
        BEGIN,
        f"# Generated with torch {torch.__version__} from {graphs} graphs of honest layers; regenerate on a new pin.",
        "ALLOWED_OPERATORS: frozenset[str] = frozenset(",
        "    {",
        *[f'        "{kind}",' for kind in allowed],
        "    }",
        ")",
        END,
    ]
    return "\n".join(lines)


def rewrite(text: str, block: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"{TARGET}: expected exactly one {BEGIN!r} ... {END!r} block")
    return pattern.sub(lambda _: block, text)


def short(where: set[str], limit: int = 8) -> str:
    names = sorted({label.split(" [")[0] for label in where})  # case names, whichever forms showed the kind
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the stored list; exit 1 on drift")
    args = parser.parse_args()

    missing = uncovered_classes()
    if missing:
        print(f"torch.nn classes neither built nor excluded (decide in {Path(__file__).name}): {', '.join(missing)}")
        return 1
    seen, failures, graphs = collect()
    denied = {kind: where for kind, where in seen.items() if kind in DENIED_OPERATORS}
    foreign = {
        kind: where
        for kind, where in seen.items()
        if kind not in DENIED_OPERATORS and kind.split("::")[0] not in ALLOWED_NAMESPACES
    }
    allowed = sorted(kind for kind in seen if kind not in denied and kind not in foreign)

    n_cases = sum(len(group) for group in layer_cases().values()) + len(pattern_cases()) + len(net_cases())
    print(f"torch {torch.__version__}: {n_cases} cases, {graphs} graphs, {len(seen)} node kinds seen")
    by_namespace: dict[str, int] = defaultdict(int)
    for kind in allowed:
        by_namespace[kind.split("::")[0]] += 1
    print(f"allowed: {len(allowed)} ({', '.join(f'{ns} {n}' for ns, n in sorted(by_namespace.items()))})")
    for kind, where in sorted(denied.items()):
        print(f"  seen but denied: {kind} ({DENIED_OPERATORS[kind]}) in {short(where)}")
    for kind, where in sorted(foreign.items()):
        print(f"  seen but outside aten/prim: {kind} ({refusal_reason(kind)}) in {short(where)}")
    print(f"excluded torch.nn classes: {len(EXCLUDED)}")
    for name, reason in sorted(EXCLUDED.items()):
        if not (name.startswith("Lazy") or name.endswith("Loss") or name == "NLLLoss2d"):
            print(f"  {name}: {reason}")
    print("  Lazy* and *Loss classes: not compiled (lazy modules materialise into covered classes; losses)")
    if failures:
        print(f"forms torch could not produce ({len(failures)} cases):")
        for case, failed in failures.items():
            for label, message in failed.items():
                print(f"  {case} [{label}]: {message}")

    if args.check:
        stale = sorted(set(allowed) ^ ALLOWED_OPERATORS)
        if stale:
            print(
                f"stored allow-list differs ({len(stale)}): "
                + ", ".join(("+" if kind in allowed else "-") + kind for kind in stale)
            )
            return 1
        print("stored allow-list is up to date")
        return 0
    TARGET.write_text(rewrite(TARGET.read_text(), generated_block(allowed, graphs)))
    print(f"wrote {len(allowed)} kinds to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
