"""Traced TorchScript records no input shape: a `path,label` CSV's image files give it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from modelscan_vicious.data.labelled_csv import read_csv_layout
from modelscan_vicious.errors import InputShapeError
from modelscan_vicious.loading import load_model


def _traced(module: nn.Module, shape: tuple[int, ...], path):
    torch.manual_seed(0)
    torch.jit.trace(module.eval(), torch.rand(2, *shape)).save(str(path))
    return path


def _image_csv(folder, size: tuple[int, int], mode: str, n: int = 4):
    rng = np.random.default_rng(0)
    rows = ["path,label"]
    for i in range(n):
        channels = 3 if mode == "RGB" else 1
        pixels = (rng.random((size[1], size[0], channels)) * 255).astype(np.uint8)
        Image.fromarray(pixels.squeeze(), mode=mode).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{i % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder / "labels.csv"


def conv_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def test_rgb_images_give_a_conv_model_its_non_square_shape(tmp_path):
    model = _traced(conv_net(), (3, 24, 32), tmp_path / "rgb.pt")
    layout = read_csv_layout(_image_csv(tmp_path, (32, 24), "RGB"))
    assert layout.image_shape == (3, 24, 32)
    assert load_model(model, data_shape=layout.image_shape).input_shape == (3, 24, 32)


def test_grey_images_take_the_channels_of_the_first_convolution(tmp_path):
    model = _traced(conv_net(), (3, 16, 16), tmp_path / "rgb.pt")
    layout = read_csv_layout(_image_csv(tmp_path, (16, 16), "L"))
    assert layout.image_shape == (1, 16, 16)
    assert load_model(model, data_shape=layout.image_shape).input_shape == (3, 16, 16)  # images are converted


def test_a_flat_first_layer_takes_the_image_size(tmp_path):
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    model = _traced(mlp, (1, 8, 8), tmp_path / "mlp.pt")
    layout = read_csv_layout(_image_csv(tmp_path, (8, 8), "L"))
    assert load_model(model, data_shape=layout.image_shape).input_shape == (1, 8, 8)


def test_without_a_hint_the_shape_is_still_asked_for(tmp_path):
    model = _traced(conv_net(), (3, 24, 32), tmp_path / "rgb.pt")
    with pytest.raises(InputShapeError, match="pass --input-shape"):
        load_model(model)
