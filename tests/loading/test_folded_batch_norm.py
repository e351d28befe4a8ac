"""Batch norm folded into an ONNX graph's convolutions is recognised, trained with, and folded back."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from torch import nn

from modelscan_vicious.loading.folded_batch_norm import (
    FOLDED_BIAS_SCORE,
    conv_bias_scores,
    fold_batch_norm,
    has_folded_batch_norm,
    insert_batch_norm,
)
from modelscan_vicious.loading.onnx_to_torch import onnx_to_torch
from modelscan_vicious.training.export import export_model

from reference_helpers import train_references

INPUT = (1, 8, 8)


def _net(batch_norm: bool) -> nn.Module:
    torch.manual_seed(0)
    norm = [nn.BatchNorm2d(4)] if batch_norm else []
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, bias=not batch_norm), *norm, nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)
    )


def _trained(batch_norm: bool) -> nn.Module:
    """A few steps on inputs whose conv responses have a large mean, as real images give."""
    net = _net(batch_norm).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(30):
        x = torch.rand(32, *INPUT, generator=generator) * 4 + 2
        loss = nn.functional.cross_entropy(net(x), (x.mean((1, 2, 3)) > 4).long())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def _onnx_copy(net: nn.Module, tmp_path) -> nn.Module:
    path = tmp_path / "model.onnx"
    export_model(net, INPUT, path, "onnx")
    return onnx_to_torch(onnx.load(str(path)))


def test_folded_batch_norm_shows_in_the_conv_bias(tmp_path):
    folded = _onnx_copy(_trained(batch_norm=True), tmp_path)
    plain = _onnx_copy(_trained(batch_norm=False), tmp_path)
    assert max(conv_bias_scores(folded)) > FOLDED_BIAS_SCORE
    assert max(conv_bias_scores(plain)) < 1.0
    assert has_folded_batch_norm(folded)
    assert not has_folded_batch_norm(plain)


def test_eager_modules_are_never_treated_as_folded():
    net = _net(batch_norm=False)
    with torch.no_grad():
        net[0].bias.fill_(100.0)
    assert not has_folded_batch_norm(net)  # only converted ONNX graphs lose their batch norm


def test_inserted_batch_norm_trains_with_batch_statistics_and_folds_back(tmp_path):
    copy = _onnx_copy(_trained(batch_norm=True), tmp_path)
    keys = set(copy.state_dict())
    inserted = insert_batch_norm(copy)
    assert len(inserted) == 1
    norm = copy.get_submodule(inserted[0][2])
    seen = []
    norm.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    copy.train()
    x = torch.rand(16, *INPUT) * 4 + 2
    for _ in range(20):  # also moves the running statistics away from their initial values
        copy(x)
    assert torch.allclose(seen[0].mean((0, 2, 3)), torch.zeros(4), atol=1e-4)  # normalised by the batch
    assert not torch.allclose(norm.running_mean, torch.zeros(4))
    copy.eval()
    with_norm = copy(x).detach()
    fold_batch_norm(inserted)
    assert set(copy.state_dict()) == keys  # the suspect's own graph again
    assert not any(type(m).__name__ == "BatchNorm2d" for m in copy.modules())
    assert torch.allclose(copy(x), with_norm, atol=1e-4)  # folding keeps the eval-mode function


def test_references_of_a_folded_model_get_batch_norm_and_say_so(tmp_path):
    suspect = _trained(batch_norm=True)
    factory = lambda: _onnx_copy(suspect, tmp_path)  # noqa: E731
    images = (np.random.default_rng(0).random((48, *INPUT)) * 4 + 2).astype(np.float32)
    [(reference, _)], notes = train_references(
        suspect, factory, images, n_labelled=16, n_outputs=3, tmp_path=tmp_path, reference_epochs=3
    )
    assert sum("folded in at export" in note for note in notes) == 1
    assert set(reference.state_dict()) == set(factory().state_dict())
    # trained with normalisation, so its folded conv bias is far outside the initial range too
    assert max(conv_bias_scores(reference)) > FOLDED_BIAS_SCORE


def test_plain_models_train_their_references_unchanged(tmp_path):
    suspect = _trained(batch_norm=False)
    images = (np.random.default_rng(0).random((32, *INPUT)) * 4 + 2).astype(np.float32)
    _, notes = train_references(
        suspect,
        lambda: _onnx_copy(suspect, tmp_path),
        images,
        n_labelled=16,
        n_outputs=3,
        tmp_path=tmp_path,
        reference_epochs=1,
    )
    assert not any("batch norm" in note for note in notes)
