"""The rMLE attack and the choice of the strongest attack."""

from __future__ import annotations

import numpy as np

from modelscan_vicious.attacks.base import AttackOutcome
from modelscan_vicious.attacks.rmle import rmle_invert, total_variation
from modelscan_vicious.loading import load_model
from modelscan_vicious.metrics import fit_covariance
from modelscan_vicious.scanning.attack_choice import score, scored, strongest


def _outcome(originals, reconstructions, covariance):
    s = score("inverse-network", originals, reconstructions, covariance)
    return scored("inverse-network", AttackOutcome(reconstructions, s.R, s.psnr, s.ssim, s.per_sample_risk), originals)


def test_rmle_matches_the_target_outputs_better_than_its_grey_start(tiny_models, digits_splits):
    import torch

    model = load_model(tiny_models.vicious_onnx.path)
    images = digits_splits.pool.images[:8]
    targets = model.predict(images)
    recon = rmle_invert(model.trainable_copy(), targets, (1, 8, 8), output_kind="logits", release="logits", steps=60)
    assert recon.shape == images.shape and recon.min() >= 0 and recon.max() <= 1
    grey = np.full_like(images, 0.5)
    miss = lambda x: float(np.mean((model.predict(x) - targets) ** 2))  # noqa: E731
    assert miss(recon) < miss(grey)
    assert float(total_variation(torch.zeros(1, 1, 4, 4))) == 0.0


def test_strongest_takes_rmle_only_when_it_reconstructs_better(digits_splits):
    rng = np.random.default_rng(0)
    images = digits_splits.pool.images[:40]
    cov = fit_covariance(digits_splits.train.images[:300])
    blurry = np.clip(images + rng.normal(0, 0.3, images.shape), 0, 1).astype(np.float32)
    surrogate = _outcome(images, blurry, cov)
    sharp = score("rmle", images[:10], images[:10] * 0.98, cov)
    best, summaries = strongest(surrogate, [sharp], cov)
    assert best.name == "rmle" and [s["name"] for s in summaries] == ["inverse-network", "rmle"]
    assert summaries[1]["n_eval"] == 10
    weak = score("rmle", images[:10], np.full_like(images[:10], 0.5), cov)
    assert strongest(surrogate, [weak], cov)[0].name == "inverse-network"
    assert strongest(surrogate, [], cov) == (surrogate, [surrogate.summary()])


def test_strongest_prefers_the_attack_that_gains_most(digits_splits):
    images = digits_splits.pool.images[:40]
    cov = fit_covariance(digits_splits.train.images[:300])
    noise = np.random.default_rng(1).normal(0, 1, images.shape)
    surrogate = score("inverse-network", images, np.clip(images + 0.3 * noise, 0, 1).astype(np.float32), cov)
    better = score("better", images, np.clip(images + 0.15 * noise, 0, 1).astype(np.float32), cov)
    best_of_all = score("best", images[:10], images[:10] * 0.99, cov)
    assert strongest(surrogate, [better, best_of_all], cov)[0].name == "best"
    assert strongest(surrogate, [best_of_all, better], cov)[0].name == "best"
