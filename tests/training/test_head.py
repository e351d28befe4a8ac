"""Head references: the suspect's last two weight layers re-trained, everything else exactly the suspect's."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from modelscan_vicious.training.head import head_parameters, retrain_head


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 16),
        nn.ReLU(),
        nn.Linear(16, 3),
    )


def test_the_head_is_the_output_layer_and_the_weight_layer_before_it_with_their_biases():
    module = _cnn()
    assert head_parameters(module, 3) == ["4.weight", "4.bias", "6.weight", "6.bias"]
    assert head_parameters(module, 3, depth=1) == ["6.weight", "6.bias"]
    assert head_parameters(module, 5) == []  # no layer with 5 outputs: no head to re-train


def test_a_convolutional_output_layer_counts_as_the_head():
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert head_parameters(module, 10) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_retraining_changes_only_the_head_and_keeps_batch_norm_statistics():
    module = _cnn()
    before = {name: value.clone() for name, value in module.state_dict().items()}
    rng = np.random.default_rng(0)
    images = rng.random((48, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 48)
    head = head_parameters(module, 3)
    trained = retrain_head(
        module, head, images, labels, output_kind="logits", epochs=2, weight_decay=0.0, seed=1, device="cpu"
    )
    after = trained.state_dict()
    for name, value in before.items():
        if name in head:
            assert not torch.equal(value, after[name]), name
        else:  # frozen weights and the batch-norm statistics (eval-mode training) are the suspect's
            assert torch.equal(value, after[name]), name
    assert all(p.requires_grad for p in trained.parameters())  # later stages fine-tune whole copies
    assert not trained.training


def test_the_same_seed_gives_the_same_head():
    rng = np.random.default_rng(0)
    images, labels = rng.random((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 32)

    def run(seed: int) -> torch.Tensor:
        module = _cnn()
        kwargs = dict(output_kind="logits", epochs=1, weight_decay=0.0, seed=seed, device="cpu")
        return retrain_head(module, head_parameters(module, 3), images, labels, **kwargs)[6].weight.detach()

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))


def test_a_torchscript_copy_retrains_its_head_and_keeps_the_rest():
    scripted = torch.jit.script(_cnn().eval())
    before = {name: value.clone() for name, value in scripted.state_dict().items()}
    rng = np.random.default_rng(0)
    images, labels = rng.random((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 32)
    head = head_parameters(scripted, 3)
    assert head == ["4.weight", "4.bias", "6.weight", "6.bias"]
    retrain_head(scripted, head, images, labels, output_kind="logits", epochs=1, weight_decay=0.0, seed=0, device="cpu")
    for name, value in scripted.state_dict().items():
        assert torch.equal(value, before[name]) == (name not in head), name
