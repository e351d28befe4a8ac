"""resnet18 and mobilenetv2: shapes for 1 and 3 channels at 32 to 224 pixels, export and reload."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from modelscan_vicious.errors import UsageError
from modelscan_vicious.loading import load_model
from modelscan_vicious.training.architectures import (
    DEFAULT_WIDTHS,
    WIDE_ARCHITECTURES,
    BasicBlock,
    InvertedResidual,
    build_classifier,
)
from modelscan_vicious.training.export import export_model, model_suffix

TINY_WIDTH = 4


def _tiny(name: str, shape: tuple[int, int, int], n_classes: int = 5) -> nn.Module:
    """A tiny network with non-trivial batch-norm statistics, so that export must carry them over."""
    torch.manual_seed(0)
    model = build_classifier(name, shape, n_classes, width=TINY_WIDTH)
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)
    return model.eval()


@pytest.mark.parametrize("name", sorted(WIDE_ARCHITECTURES))
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (1, 64, 64), (3, 64, 64)])
def test_forward_shape(name, shape):
    with torch.no_grad():
        assert _tiny(name, shape)(torch.rand(2, *shape)).shape == (2, 5)


@pytest.mark.parametrize("name", sorted(WIDE_ARCHITECTURES))
def test_imagenet_size_uses_the_strided_stem(name):
    model = _tiny(name, (3, 224, 224))
    with torch.no_grad():
        assert model(torch.rand(1, 3, 224, 224)).shape == (1, 5)
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.stride == (2, 2)
    small_first_conv = next(m for m in _tiny(name, (3, 32, 32)).modules() if isinstance(m, nn.Conv2d))
    assert small_first_conv.stride == (1, 1)


def test_layouts():
    resnet = build_classifier("resnet18", (3, 32, 32), 10)
    blocks = [m for m in resnet.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8 and blocks[-1].body[0].out_channels == 8 * DEFAULT_WIDTHS["resnet18"]
    mobilenet = build_classifier("mobilenetv2", (3, 32, 32), 10)
    inverted = [m for m in mobilenet.modules() if isinstance(m, InvertedResidual)]
    assert len(inverted) == 17 and sum(block.residual for block in inverted) == 10
    assert any(isinstance(m, nn.ReLU6) for m in mobilenet.modules())
    depthwise = [m for m in mobilenet.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 17 and all(m.groups == m.in_channels for m in depthwise)
    assert build_classifier("resnet18", (3, 32, 32), 10, width=8).state_dict()["1.weight"].shape[0] == 8


def test_width_only_for_standard_families():
    with pytest.raises(UsageError, match="--width applies to resnet18, mobilenetv2 only, not to 'cnn'"):
        build_classifier("cnn", (1, 28, 28), 10, width=8)


@pytest.mark.parametrize("name", sorted(WIDE_ARCHITECTURES))
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32)])
def test_export_and_reload_match(tmp_path, name, fmt, shape):
    model = _tiny(name, shape)
    path = tmp_path / f"m{model_suffix(fmt)}"
    export_model(model, shape, path, fmt)
    loaded = load_model(path, input_shape=shape if fmt == "torchscript" else None)
    assert loaded.input_shape == shape and loaded.n_outputs == 5
    inputs = np.random.default_rng(0).random((4, *shape), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(loaded.predict(inputs), expected, rtol=1e-4, atol=1e-4)
    trainable = loaded.trainable_copy().eval()  # what white-box attacks and fine-tuning detectors run
    with torch.no_grad():
        np.testing.assert_allclose(trainable(torch.from_numpy(inputs)).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["mlp", "cnn", "rescnn", "gapcnn", "resnet18", "mobilenetv2"])
def test_every_fixture_architecture_scripts_and_the_scanner_loads_the_scripted_file(tmp_path, name):
    """torch.jit.script (not only trace): users export either way."""
    shape = (3, 32, 32) if name in ("resnet18", "mobilenetv2") else (1, 28, 28)
    torch.manual_seed(0)
    module = build_classifier(name, shape, 10, width=8 if name == "resnet18" else None).eval()
    path = tmp_path / f"{name}.pt"
    torch.jit.script(module).save(str(path))
    images = torch.rand(3, *shape)
    suspect = load_model(path, data_shape=shape)
    assert suspect.input_shape == shape
    np.testing.assert_allclose(suspect.predict(images.numpy()), module(images).detach().numpy(), atol=1e-5)
