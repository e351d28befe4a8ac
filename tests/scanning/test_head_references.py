"""Head references in the scan: the suspect's own weights outside the head, and a cache key of their own."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from modelscan_vicious.config import BUDGETS, ScanConfig
from modelscan_vicious.scanning.references import _cache_key
from modelscan_vicious.scanning.stages import LoadedInputs

from reference_helpers import train_references


def _suspect(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


def _factory(suspect: nn.Module):
    def copy() -> nn.Module:
        fresh = _suspect(0)
        fresh.load_state_dict(suspect.state_dict())
        return fresh

    return copy


def test_head_references_keep_the_suspects_weights_outside_the_head(tmp_path):
    suspect = _suspect(1)
    images = np.random.default_rng(0).random((40, 1, 4, 4)).astype(np.float32)
    [(reference, _)], notes = train_references(
        suspect, _factory(suspect), images, n_labelled=20, n_outputs=3, tmp_path=tmp_path, references="head"
    )
    for name, value in suspect.state_dict().items():
        same = torch.equal(value, reference.state_dict()[name])
        assert same == (name.startswith("1.")), name  # layers 3 and 5 are the head, layer 1 the suspect's
    assert notes[0].startswith("references: the model with its head (3.weight, 3.bias, 5.weight, 5.bias)")


def _loaded(suspect: nn.Module, images: np.ndarray) -> LoadedInputs:
    model = SimpleNamespace(output_kind="logits", input_shape=(1, 4, 4), n_outputs=3)
    labelled = SimpleNamespace(images=images[:10], labels=np.arange(10) % 3)
    return LoadedInputs(model, labelled, SimpleNamespace(), lambda x: x, _factory(suspect))  # type: ignore[arg-type]


def test_head_references_are_cached_per_model_scratch_ones_per_architecture(tmp_path):
    """Two suspects of one architecture, given the same training set: from-scratch references (which start
    from no trained weight) share a key; head references (which keep each suspect's weights) do not."""
    images = np.random.default_rng(0).random((20, 1, 4, 4)).astype(np.float32)
    labels = np.arange(20) % 3
    budget = replace(BUDGETS["fast"], n_references=2)
    scratch = ScanConfig(labels=tmp_path / "l.csv", budget=budget, references="scratch")  # type: ignore[arg-type]
    head = replace(scratch, references="head")
    one, other = _loaded(_suspect(1), images), _loaded(_suspect(2), images)
    keys = {
        (name, method): _cache_key(loaded, config, images, labels, folded=False)
        for name, loaded in (("one", one), ("other", other))
        for method, config in (("scratch", scratch), ("head", head))
    }
    assert keys["one", "scratch"] == keys["other", "scratch"]
    assert keys["one", "head"] != keys["other", "head"]
    assert keys["one", "head"] != keys["one", "scratch"]
