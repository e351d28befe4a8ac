"""Fixture classifier architectures and their export to the formats the scanner accepts."""

from __future__ import annotations

import pytest
import torch

from modelscan_vicious.errors import UsageError
from modelscan_vicious.training.architectures import ARCHITECTURES, SoftmaxRelease, build_classifier
from modelscan_vicious.training.export import export_model, model_suffix


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
def test_architectures_classify_any_small_shape(name, shape):
    torch.manual_seed(0)
    model = build_classifier(name, shape, 7).eval()
    with torch.no_grad():
        assert model(torch.rand(2, *shape)).shape == (2, 7)


def test_unknown_architecture():
    with pytest.raises(UsageError, match="unknown architecture 'vgg'; choose from mlp, cnn"):
        build_classifier("vgg", (1, 8, 8), 10)


def test_softmax_release_rows_sum_to_one():
    model = SoftmaxRelease(build_classifier("mlp", (1, 8, 8), 10)).eval()
    with torch.no_grad():
        out = model(torch.rand(3, 1, 8, 8))
    assert torch.allclose(out.sum(dim=1), torch.ones(3)) and float(out.min()) >= 0


def test_export_formats(tmp_path):
    model = build_classifier("mlp", (1, 8, 8), 10)
    assert model_suffix("onnx") == ".onnx" and model_suffix("torchscript") == ".pt"
    export_model(model, (1, 8, 8), tmp_path / "sub" / "m.pt", "torchscript")
    assert (tmp_path / "sub" / "m.pt").stat().st_size > 0
    with pytest.raises(ValueError, match="unknown export format 'keras'"):
        export_model(model, (1, 8, 8), tmp_path / "m.h5", "keras")
