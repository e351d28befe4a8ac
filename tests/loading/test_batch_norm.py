"""Traced batch norm in a reference copy trains with batch statistics, as the owner's model did."""

from __future__ import annotations

import io

import torch
from torch import nn

from modelscan_vicious.loading.batch_norm import use_batch_statistics


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3), nn.BatchNorm1d(3)
    ).eval()


def _traced_copy() -> torch.jit.ScriptModule:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.trace(_net(), torch.zeros(2, 1, 8, 8)), buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def test_traced_batch_norm_is_frozen_until_rewritten():
    x = torch.rand(16, 1, 8, 8) * 5
    frozen = _traced_copy().train()
    assert torch.allclose(frozen(x)[:4], frozen(x[:4]), atol=1e-6)  # eval-mode statistics despite .train()

    copy = _traced_copy()
    assert use_batch_statistics(copy) == 2
    copy.train()
    before = copy.state_dict()["1.running_mean"].clone()
    out = copy(x)
    assert not torch.allclose(out[:4], copy(x[:4]), atol=1e-3)  # normalised by each batch
    assert not torch.equal(before, copy.state_dict()["1.running_mean"])  # running statistics move
    # batch statistics: each of the 3 outputs is centred over the batch
    assert torch.allclose(out.mean(0), torch.zeros(3), atol=1e-4)


def test_an_unmodified_copy_takes_the_trained_state_and_predicts_in_eval_mode():
    trained = _traced_copy()
    use_batch_statistics(trained)
    trained.train()
    for _ in range(5):
        trained(torch.rand(16, 1, 8, 8))
    fresh = _traced_copy()
    fresh.load_state_dict(trained.state_dict())
    x = torch.rand(6, 1, 8, 8)
    fresh.eval()
    assert torch.allclose(fresh(x)[:2], fresh(x[:2]), atol=1e-6)  # per-input again
    assert torch.equal(fresh.state_dict()["1.running_var"], trained.state_dict()["1.running_var"])


def test_eager_and_already_rewritten_modules_are_left_alone():
    assert use_batch_statistics(_net()) == 0
    copy = _traced_copy()
    assert use_batch_statistics(copy) == 2
    assert use_batch_statistics(copy) == 0


def test_references_of_a_traced_batch_norm_model_learn_running_statistics(tmp_path):
    import numpy as np

    from reference_helpers import train_references

    images = (np.random.default_rng(0).random((48, 1, 8, 8), dtype=np.float32) * 5).astype(np.float32)
    [(reference, kind)], notes = train_references(
        _traced_copy(), _traced_copy, images, n_labelled=16, n_outputs=3, tmp_path=tmp_path
    )
    assert sum("2 batch-norm layers frozen" in note for note in notes) == 1
    state = reference.state_dict()
    assert kind == "logits" and not reference.training
    assert not torch.allclose(state["1.running_mean"], torch.zeros(4))  # learnt from batches, not reset values
    x = torch.from_numpy(images[:6])
    assert torch.allclose(reference(x)[:2], reference(x[:2]), atol=1e-5)  # eval mode: per-input predictions


def test_a_trailing_batch_of_one_input_does_not_poison_running_statistics():
    import numpy as np

    from modelscan_vicious.training.classifier import train_classifier

    copy = _traced_copy()
    use_batch_statistics(copy)
    rng = np.random.default_rng(0)
    images, labels = rng.random((65, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, 65)  # 64 + 1
    trained = train_classifier(copy, images, labels, output_kind="logits", epochs=2, batch_size=64)
    assert all(torch.isfinite(v).all() for k, v in trained.state_dict().items() if "running" in k)
