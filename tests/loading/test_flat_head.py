"""Trainable copies of 1x1-convolution heads ((N, classes, 1, 1), SqueezeNet-style) train as classifiers."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from modelscan_vicious.loading.base import needs_flat_head, with_flat_head
from modelscan_vicious.training.classifier import train_classifier


def conv_head() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 10, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))  # (N, 10, 1, 1)


def test_a_1x1_convolution_head_gets_a_flatten_and_trains():
    assert needs_flat_head(conv_head(), (3, 8, 8))
    assert not needs_flat_head(nn.Sequential(nn.Flatten(), nn.Linear(192, 10)), (3, 8, 8))
    module = with_flat_head(conv_head())
    images = np.random.default_rng(0).random((16, 3, 8, 8), dtype=np.float32)
    labels = np.arange(16) % 10
    trained = train_classifier(module, images, labels, output_kind="logits", epochs=1)
    assert trained(torch.from_numpy(images)).shape == (16, 10)
