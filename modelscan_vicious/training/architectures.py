"""Small image classifiers for fixtures. Each normalises its [0, 1] input inside the model, as in the paper."""

from __future__ import annotations

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


ARCHITECTURES: dict[str, Callable[[tuple[int, int, int], int], nn.Module]] = {
    "mlp": mlp,
    "cnn": cnn,
    "rescnn": rescnn,
    "gapcnn": gapcnn,
}


def build_classifier(name: str, input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    if name not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](input_shape, n_classes)


class SoftmaxRelease(nn.Module):
    """What a softmax-release deployment exports: the classifier followed by softmax."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(x), dim=1)
