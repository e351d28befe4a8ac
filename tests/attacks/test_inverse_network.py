"""The black-box surrogate inverse network on the session's tiny models."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.attacks.base import AttackData, AttackOutcome
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.loading import load_model
from modelscan_vicious.release import attack_features, released_outputs

N_TRAIN, N_EVAL = 400, 60
EPOCHS = 15  # measured: vicious beats honest by ~0.05 SSIM and ~0.04 R at this budget


@pytest.fixture(scope="module")
def attack_data(digits_splits) -> AttackData:
    pool = digits_splits.pool.images
    train, held_out = pool[:N_TRAIN], pool[N_TRAIN : N_TRAIN + N_EVAL]
    return AttackData(train=train, eval=held_out, covariance_samples=train, description="pool", lower_bound=False)


def oracle_for(path):
    model = load_model(path)
    return lambda x: attack_features(
        released_outputs(model.predict(x), model.output_kind, "logits"), model.output_kind, "logits"
    )


@pytest.fixture(scope="module")
def outcomes(tiny_models, attack_data) -> dict[str, AttackOutcome]:
    attack = InverseNetworkAttack(epochs=EPOCHS)
    return {
        kind: attack.run(oracle_for(getattr(tiny_models, f"{kind}_onnx").path), attack_data, seed=0)
        for kind in ("honest", "vicious")
    }


def test_outcome_is_finite_and_sized_by_the_evaluation_set(outcomes, attack_data):
    outcome = outcomes["honest"]
    assert all(np.isfinite(v) for v in (outcome.R, outcome.psnr, outcome.ssim, outcome.prototype_ssim))
    assert outcome.per_sample_risk.shape == (N_EVAL,)
    assert outcome.R == pytest.approx(outcome.per_sample_risk.mean())
    assert outcome.reconstructions.shape == attack_data.eval.shape
    assert 0.0 <= outcome.reconstructions.min() and outcome.reconstructions.max() <= 1.0
    assert 0.0 < outcome.ssim <= 1.0 and outcome.psnr > 5.0


def test_vicious_model_is_reconstructed_better_than_honest(outcomes):
    honest, vicious = outcomes["honest"], outcomes["vicious"]
    assert vicious.ssim > honest.ssim + 0.02
    assert vicious.R > honest.R
    assert vicious.psnr > honest.psnr
    # What the label alone gives is about the same for both; the gain above it is the leak.
    assert vicious.ssim - vicious.prototype_ssim > honest.ssim - honest.prototype_ssim


def test_outputs_that_carry_nothing_give_no_risk(attack_data, outcomes):
    constant = lambda x: np.zeros((len(x), 10), dtype=np.float32)  # noqa: E731
    outcome = InverseNetworkAttack(epochs=EPOCHS).run(constant, attack_data, seed=0)
    assert outcome.R < 1.05  # R = 1 is what outputting the mean image gives
    assert outcome.R < outcomes["honest"].R and outcome.ssim < outcomes["honest"].ssim


def test_same_seed_same_numbers_other_seed_other_numbers(tiny_models, attack_data):
    oracle = oracle_for(tiny_models.vicious_onnx.path)
    attack = InverseNetworkAttack(epochs=2)
    first, second = attack.run(oracle, attack_data, seed=3), attack.run(oracle, attack_data, seed=3)
    np.testing.assert_array_equal(first.reconstructions, second.reconstructions)
    assert (first.R, first.psnr, first.ssim) == (second.R, second.psnr, second.ssim)
    other = attack.run(oracle, attack_data, seed=4)
    assert not np.array_equal(first.reconstructions, other.reconstructions)


def test_the_decoder_kept_is_the_epoch_that_scored_best_on_validation(monkeypatch):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 6)).astype(np.float32)
    images = rng.random((80, 1, 8, 8), dtype=np.float32)
    validation = (features[:20], images[:20])
    attack = InverseNetworkAttack(epochs=30, batch_size=16)
    seen: list[float] = []
    original = InverseNetworkAttack._evaluate

    def recording(self, decoder, data, loss_fn):
        seen.append(original(self, decoder, data, loss_fn))
        return seen[-1]

    monkeypatch.setattr(InverseNetworkAttack, "_evaluate", recording)
    decoder = attack._fit(features[20:], images[20:], validation, seed=0)
    assert len(seen) == 30
    assert int(np.argmin(seen)) < len(seen) - 1  # noise features: the decoder overfits, so the last is not best
    assert original(attack, decoder, validation, seen_loss) == pytest.approx(min(seen), rel=1e-6)


def seen_loss(x_hat, x):
    """The server's loss, as the attack trains and validates with it."""
    import torch.nn.functional as F

    from modelscan_vicious.attacks.inverse_network import HUBER_WEIGHT
    from modelscan_vicious.metrics.image_quality import ssim_loss_fn

    return ssim_loss_fn(8, 8)(x_hat, x) + HUBER_WEIGHT * F.huber_loss(x_hat, x, delta=1.0)


def test_sets_too_small_for_a_validation_slice_train_on_everything():
    from modelscan_vicious.attacks.inverse_network import MIN_VALIDATION, VALIDATION_FRACTION, _split_validation

    small = np.zeros((int(MIN_VALIDATION / VALIDATION_FRACTION) - 1, 1, 8, 8), dtype=np.float32)
    train, validation = _split_validation(small, np.random.default_rng(0))
    assert validation is None and len(train) == len(small)
    large = np.arange(400, dtype=np.float32).reshape(400, 1, 1, 1)
    train, validation = _split_validation(large, np.random.default_rng(0))
    assert len(validation) == 40 and len(train) == 360
    assert not set(train.ravel()) & set(validation.ravel())
