"""Honest references: re-initialising any module's weights, and training it for the task only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from modelscan_vicious.loading import load_model
from modelscan_vicious.training.classifier import classification_loss, module_predictor, reinitialise, train_classifier


def bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)
    )


def with_trained_bn_state(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.fill_(5.0)
                m.running_var.fill_(3.0)
                m.weight.fill_(0.2)
                m.bias.fill_(0.7)
    return module


def weights(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def mean_loss(module: nn.Module, images: np.ndarray, labels: np.ndarray, output_kind: str) -> float:
    with torch.no_grad():
        outputs = module.eval()(torch.from_numpy(images))
        return float(classification_loss(outputs, torch.from_numpy(labels), output_kind))


@pytest.fixture(scope="module")
def digits(digits_splits):
    pool = digits_splits.pool
    return pool.images[:300], pool.labels[:300]


def test_reinitialise_changes_every_weight_and_follows_default_init_bounds():
    module = bn_net()
    before = weights(module)
    reinitialise(module, seed=1)  # seed 0 would redraw bn_net's own default init: same generator state
    after = weights(module)
    assert not torch.equal(before["0.weight"], after["0.weight"])
    assert not torch.equal(before["4.weight"], after["4.weight"])
    assert after["4.bias"].abs().max() <= 1 / np.sqrt(4 * 8 * 8)  # bias bound 1/sqrt(fan_in)
    kaiming_bound = np.sqrt(6.0 / (6 * 9))  # kaiming_uniform_(a=sqrt(5)) for fan_in 1*3*3
    assert after["0.weight"].abs().max() <= kaiming_bound + 1e-6
    assert after["0.weight"].std() > kaiming_bound / 4  # not collapsed to zero


def test_reinitialise_resets_batch_norm_to_its_initial_state():
    module = reinitialise(with_trained_bn_state(bn_net()), seed=0)
    bn = module[1]
    assert torch.equal(bn.running_mean, torch.zeros(4)) and torch.equal(bn.running_var, torch.ones(4))
    assert torch.equal(bn.weight.data, torch.ones(4)) and torch.equal(bn.bias.data, torch.zeros(4))


def test_reinitialise_is_seeded():
    a, b, c = reinitialise(bn_net(), seed=7), reinitialise(bn_net(), seed=7), reinitialise(bn_net(), seed=8)
    for key, value in weights(a).items():
        assert torch.equal(value, weights(b)[key])
    assert not torch.equal(weights(a)["0.weight"], weights(c)["0.weight"])


def test_reinitialise_works_on_a_scripted_module_with_batch_norm():
    scripted = torch.jit.script(with_trained_bn_state(bn_net()))
    before = weights(scripted)
    reinitialise(scripted, seed=1)
    after = weights(scripted)
    assert not torch.equal(before["0.weight"], after["0.weight"])
    assert torch.equal(after["1.running_mean"], torch.zeros(4)) and torch.equal(after["1.weight"], torch.ones(4))
    assert scripted(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("fixture", ["honest_onnx", "honest_torchscript"])
def test_reinitialise_works_on_trainable_copies_of_loaded_models(tiny_models, fixture, digits):
    """Converted ONNX GraphModules and TorchScript archives: parameter names are all we have."""
    model = load_model(getattr(tiny_models, fixture).path, n_pixels=64)
    images, labels = digits
    copy_a, copy_b = model.trainable_copy(), model.trainable_copy()
    np.testing.assert_allclose(module_predictor(copy_a)(images[:20]), model.predict(images[:20]), atol=1e-4)
    before = weights(copy_a)
    reinitialise(copy_a, seed=3)
    reinitialise(copy_b, seed=3)
    changed = [k for k, v in weights(copy_a).items() if v.dim() >= 1 and not torch.equal(v, before[k])]
    assert len(changed) == sum(1 for _ in copy_a.parameters())  # every parameter, no buffer touched
    for key, value in weights(copy_a).items():
        assert torch.equal(value, weights(copy_b)[key])
    # The fresh copy has forgotten the task; the loaded black box is untouched.
    assert mean_loss(copy_a, images, labels, model.output_kind) > 1.5
    assert (model.predict(images).argmax(1) == labels).mean() > 0.8


def test_train_classifier_lowers_the_loss(tiny_models, digits):
    images, labels = digits
    module = reinitialise(load_model(tiny_models.honest_onnx.path).trainable_copy(), seed=0)
    before = mean_loss(module, images, labels, "logits")
    trained = train_classifier(module, images, labels, output_kind="logits", epochs=10, seed=0)
    assert not trained.training  # returned in eval mode
    assert mean_loss(trained, images, labels, "logits") < before - 0.5


def test_train_classifier_supports_probability_output_models(tiny_models, digits):
    images, labels = digits
    model = load_model(tiny_models.softmax_torchscript.path, n_pixels=64)
    assert model.output_kind == "probabilities"
    module = reinitialise(model.trainable_copy(), seed=0)
    before = mean_loss(module, images, labels, "probabilities")
    trained = train_classifier(module, images, labels, output_kind="probabilities", epochs=10, seed=0)
    after = module_predictor(trained)(images)
    np.testing.assert_allclose(after.sum(1), 1.0, atol=1e-4)  # still a softmax model
    assert mean_loss(trained, images, labels, "probabilities") < before - 0.5


def test_train_classifier_takes_exactly_the_steps_asked_and_is_seeded(digits):
    images, labels = digits
    untouched = weights(train_classifier(bn_net(), images, labels, output_kind="logits", steps=0))
    assert all(torch.equal(v, weights(bn_net())[k]) for k, v in untouched.items())
    a = weights(train_classifier(bn_net(), images, labels, output_kind="logits", steps=3, seed=5))
    b = weights(train_classifier(bn_net(), images, labels, output_kind="logits", steps=3, seed=5))
    assert not torch.equal(a["0.weight"], untouched["0.weight"])
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    # BatchNorm counts one forward pass per step: exactly 3 mini-batches were used.
    assert int(a["1.num_batches_tracked"]) == 3


def test_module_predictor_batches_like_one_call():
    module = bn_net().eval()
    images = np.random.default_rng(0).random((23, 1, 8, 8), dtype=np.float32)
    batched = module_predictor(module, batch_size=5)(images)
    with torch.no_grad():
        whole = module(torch.from_numpy(images)).numpy()
    assert batched.shape == (23, 10)
    np.testing.assert_allclose(batched, whole, atol=1e-5)


def _recorded_recipes(tmp_path, monkeypatch, output_kind: str, release: str) -> list[tuple[int, float]]:
    """(epochs, weight decay) of each reference `_train_references` trains for a tiny suspect."""
    from modelscan_vicious.scanning import references

    from reference_helpers import train_references

    calls = []
    real = references.train_classifier

    def recording(module, images, labels, **kwargs):
        calls.append((kwargs["epochs"], kwargs["weight_decay"]))
        return real(module, images, labels, **kwargs)

    monkeypatch.setattr(references, "train_classifier", recording)
    images = np.random.default_rng(0).random((40, 1, 8, 8), dtype=np.float32)
    _, notes = train_references(
        bn_net().eval(),
        bn_net,
        images,
        n_labelled=8,
        n_outputs=10,
        tmp_path=tmp_path,
        n_references=4,
        reference_epochs=10,
        output_kind=output_kind,
        release=release,
    )
    assert notes[0].startswith("references trained with the recipes ")
    assert "8 labelled rows, fewer than the 200" in notes[1]  # a tiny labelled set is flagged
    return calls


@pytest.mark.parametrize(
    ("output_kind", "release"),
    [("logits", "logits"), ("logits", "softmax"), ("probabilities", "logits"), ("probabilities", "top-3")],
)
def test_references_cycle_through_honest_recipes(tmp_path, monkeypatch, output_kind, release):
    from modelscan_vicious.detectors.references import REFERENCE_RECIPES

    calls = _recorded_recipes(tmp_path, monkeypatch, output_kind, release)
    expected = [(max(1, round(r.epoch_fraction * 10)), r.weight_decay) for r in REFERENCE_RECIPES]
    assert calls == [*expected, expected[0]]
    assert len(set(calls)) == len(REFERENCE_RECIPES) > 1


def test_weight_decay_shrinks_the_weights(digits):
    images, labels = digits
    trained = {}
    for decay in (0.0, 1.0):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        trained[decay] = train_classifier(
            net, images[:200], labels[:200], output_kind="logits", epochs=5, weight_decay=decay
        )
    norm = {d: float(m[1].weight.detach().norm()) for d, m in trained.items()}
    assert norm[1.0] < 0.8 * norm[0.0]


def test_reinitialise_gives_prelu_its_default_slope():
    net = nn.Sequential(nn.Linear(4, 3), nn.PReLU(3), nn.BatchNorm1d(3))
    with torch.no_grad():
        net[1].weight.fill_(0.9)
        net[2].weight.fill_(0.5)
    reinitialise(net, seed=0)
    assert torch.all(net[1].weight == 0.25) and torch.all(net[2].weight == 1.0)
