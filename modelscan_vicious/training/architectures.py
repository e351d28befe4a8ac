"""Image classifiers for fixtures. Each normalises its [0, 1] input inside the model, as in the paper.

Small ones for 8x8 to 28x28 greyscale digits (mlp, cnn, rescnn, gapcnn) and standard families for
RGB or greyscale images of 32 to 224 pixels (resnet18, mobilenetv2),
whose width is configurable. Inputs of 96 pixels or more get the ImageNet stem (7x7 stride-2
convolution and max pool, or a stride-2 convolution); smaller ones the CIFAR stem (3x3, stride 1).
"""

# No `from __future__ import annotations` here: torch.jit.script reads the modules' class annotations
# (Normalize's buffers) and cannot resolve them as strings, and these networks must script.
from collections.abc import Callable

import torch
from torch import nn

from modelscan_vicious.errors import UsageError


class Normalize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: float = 0.5, std: float = 0.5) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def _flat_features(features: nn.Module, input_shape: tuple[int, int, int]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *input_shape)).flatten(1).shape[1])


def mlp(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    d = input_shape[0] * input_shape[1] * input_shape[2]
    return nn.Sequential(
        Normalize(),
        nn.Flatten(),
        nn.Linear(d, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, n_classes),
    )


def cnn(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    features = nn.Sequential(
        Normalize(),
        nn.Conv2d(input_shape[0], 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    )  # fmt: skip
    flat = _flat_features(features, input_shape)
    return nn.Sequential(features, nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, n_classes))


def rescnn(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    features = nn.Sequential(
        Normalize(),
        nn.Conv2d(input_shape[0], 24, 3, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU(),
        ResidualBlock(24), nn.MaxPool2d(2), ResidualBlock(24),
        nn.Flatten(),
    )  # fmt: skip
    flat = _flat_features(features, input_shape)
    return nn.Sequential(features, nn.Linear(flat, 96), nn.ReLU(), nn.Linear(96, n_classes))


def gapcnn(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """Global-average-pooling CNN: no fully connected hidden layer, so the head is a single linear map.

    It pools twice before the global average, as such networks do: at full resolution a 3-layer
    stack sees only 10x10 patches and 8 epochs left it at 71-93% accuracy on MNIST. Batch norm lets
    it converge in a few epochs; the narrow convolutions keep a CPU scan of it cheap.
    """
    return nn.Sequential(
        Normalize(),
        nn.Conv2d(input_shape[0], 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_classes),
    )  # fmt: skip


LARGE_INPUT = 96  # from this many pixels on the shorter side, the standard families use the ImageNet stem
# Default first-stage widths (the originals: 64 and 32). On one busy core, 10 joint-training epochs of
# resnet18 on photo-patches (2,660 3x32x32 images) took 95 s of CPU; mobilenetv2 at width 8 costs about as
# much per image (3 ms per training step and image against 1.7 ms, before its decoder).
DEFAULT_WIDTHS = {"resnet18": 16, "mobilenetv2": 8}


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convolutions with batch norm, a projected shortcut when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise convolution, linear 1x1 projection; ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


def resnet18(input_shape: tuple[int, int, int], n_classes: int, *, width: int = 16) -> nn.Module:
    """ResNet-18 layout: four stages of two basic blocks (width, 2, 4, 8 x width), global average pool."""
    large = min(input_shape[1:]) >= LARGE_INPUT
    stem: list[nn.Module] = [
        nn.Conv2d(
            input_shape[0], width, 7 if large else 3, stride=2 if large else 1, padding=3 if large else 1, bias=False
        ),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    ]
    if large:
        stem.append(nn.MaxPool2d(3, stride=2, padding=1))
    blocks: list[nn.Module] = []
    channels = width
    for stage, out_channels in enumerate((width, 2 * width, 4 * width, 8 * width)):
        blocks += [
            BasicBlock(channels, out_channels, 1 if stage == 0 else 2),
            BasicBlock(out_channels, out_channels, 1),
        ]
        channels = out_channels
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes)]
    return nn.Sequential(Normalize(), *stem, *blocks, *head)


# MobileNetV2's stages as (expansion, channels / width, blocks, stride); width 32 gives the original's channels.
_MOBILENET_STAGES = (
    (1, 0.5, 1, 1),
    (6, 0.75, 2, 2),
    (6, 1, 3, 2),
    (6, 2, 4, 2),
    (6, 3, 3, 1),
    (6, 5, 3, 2),
    (6, 10, 1, 1),
)


def mobilenetv2(input_shape: tuple[int, int, int], n_classes: int, *, width: int = 8) -> nn.Module:
    """MobileNetV2 layout (17 inverted residual blocks, 1x1 head conv of 40 x width, global average pool).

    Below LARGE_INPUT pixels the stem and the second stage keep stride 1, as CIFAR versions do, so a
    32-pixel input ends at 4x4 rather than 1x1.
    """
    large = min(input_shape[1:]) >= LARGE_INPUT
    layers: list[nn.Module] = [
        Normalize(),
        nn.Conv2d(input_shape[0], width, 3, stride=2 if large else 1, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU6(),
    ]
    channels = width
    for index, (expansion, scale, n_blocks, stride) in enumerate(_MOBILENET_STAGES):
        out_channels = max(4, round(scale * width))
        first_stride = 1 if (index == 1 and not large) else stride
        for block in range(n_blocks):
            layers.append(InvertedResidual(channels, out_channels, first_stride if block == 0 else 1, expansion))
            channels = out_channels
    head_channels = 40 * width
    layers += [
        nn.Conv2d(channels, head_channels, 1, bias=False),
        nn.BatchNorm2d(head_channels),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(head_channels, n_classes),
    ]
    return nn.Sequential(*layers)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "cnn": cnn,
    "rescnn": rescnn,
    "gapcnn": gapcnn,
}
# Architectures whose width (channels of the first stage) can be chosen; DEFAULT_WIDTHS holds defaults.
WIDE_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"resnet18": resnet18, "mobilenetv2": mobilenetv2}
ARCHITECTURES.update(WIDE_ARCHITECTURES)


def build_classifier(
    name: str, input_shape: tuple[int, int, int], n_classes: int, *, width: int | None = None
) -> nn.Module:
    """A fresh classifier; `width` only for the WIDE_ARCHITECTURES (None: their default)."""
    if name not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}")
    if name in WIDE_ARCHITECTURES:
        return WIDE_ARCHITECTURES[name](input_shape, n_classes, width=width or DEFAULT_WIDTHS[name])
    if width is not None:
        raise UsageError(f"--width applies to {', '.join(WIDE_ARCHITECTURES)} only, not to {name!r}")
    return ARCHITECTURES[name](input_shape, n_classes)


class SoftmaxRelease(nn.Module):
    """What a softmax-release deployment exports: the classifier followed by softmax."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(x), dim=1)
