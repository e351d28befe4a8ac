"""The white-box rMLE attack as a scan stage, and the choice of the stronger attack for the report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelscan_vicious.attacks.base import AttackOutcome
from modelscan_vicious.attacks.rmle import rmle_invert
from modelscan_vicious.config import ScanConfig, parse_release
from modelscan_vicious.metrics import fit_covariance, per_sample_risk, psnr, ssim

RMLE_RELEASES = ("logits", "softmax")  # truncated and label releases give no usable gradient target


@dataclass(frozen=True)
class ScoredAttack:
    name: str
    originals: np.ndarray
    reconstructions: np.ndarray
    per_sample_risk: np.ndarray
    R: float
    psnr: float
    ssim: float

    def summary(self) -> dict:
        return {"name": self.name, "R": self.R, "psnr": self.psnr, "ssim": self.ssim, "n_eval": len(self.originals)}


def score(
    name: str, originals: np.ndarray, reconstructions: np.ndarray, covariance_samples: np.ndarray
) -> ScoredAttack:
    covariance = fit_covariance(covariance_samples.reshape(len(covariance_samples), -1))
    risks = per_sample_risk(originals, reconstructions, covariance)
    return ScoredAttack(
        name,
        originals,
        reconstructions,
        risks,
        float(risks.mean()),
        psnr(originals, reconstructions),
        ssim(originals, reconstructions),
    )


def run_rmle(
    trainable_factory,
    suspect_predict,
    output_kind: str,
    eval_images: np.ndarray,
    covariance_samples: np.ndarray,
    config: ScanConfig,
) -> ScoredAttack | None:
    """rMLE on the first `rmle_samples` held-out inputs; None when the release or model does not allow it."""
    kind, _ = parse_release(config.release)
    if trainable_factory is None or kind not in RMLE_RELEASES:
        return None
    sample = eval_images[: config.budget.rmle_samples]
    reconstructions = rmle_invert(
        trainable_factory(),
        suspect_predict(sample),
        tuple(sample.shape[1:]),
        output_kind=output_kind,
        release=kind,
        steps=config.budget.rmle_steps,
        device=config.device,
    )
    return score("rmle", sample, reconstructions, covariance_samples)


def stronger(
    surrogate: AttackOutcome, eval_images: np.ndarray, rmle: ScoredAttack | None, covariance_samples: np.ndarray
) -> tuple[ScoredAttack, list[dict]]:
    """The attack whose reconstructions are better (SSIM on the inputs both attacked), and every summary."""
    full = ScoredAttack(
        "inverse-network",
        eval_images,
        surrogate.reconstructions,
        surrogate.per_sample_risk,
        surrogate.R,
        surrogate.psnr,
        surrogate.ssim,
    )
    if rmle is None:
        return full, [full.summary()]
    same_inputs = score(
        "inverse-network", rmle.originals, surrogate.reconstructions[: len(rmle.originals)], covariance_samples
    )
    best = rmle if rmle.ssim > same_inputs.ssim else full
    return best, [full.summary(), rmle.summary()]
