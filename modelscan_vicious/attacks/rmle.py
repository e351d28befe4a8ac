"""White-box regularised maximum-likelihood inversion (rMLE, He et al. 2019, section 2 of REFERENCE.md).

For each released vector v, optimise an image x in [0, 1] so that the model's released features of
x match v, with a total-variation prior: min ||phi(f(x)) - v||^2 + lambda * TV(x), by Adam from a
grey image. It needs gradients, so it runs only when a trainable copy exists, on a sample of the
held-out inputs; the scan reports whichever attack reconstructs better.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from modelscan_vicious.attacks.base import Attack, AttackData, AttackNeeds, AttackOutcome, FeatureOracle, WhiteBoxAccess
from modelscan_vicious.metrics import per_sample_risk, psnr, ssim
from modelscan_vicious.release import PROBABILITY_FLOOR

if TYPE_CHECKING:
    from modelscan_vicious.config import Budget

RMLE_RELEASES = ("logits", "softmax")  # truncated and label releases give no usable gradient target


class RmleAttack(Attack):
    """rMLE on the first `samples` held-out inputs: each is an optimisation of its own, so all would cost too much."""

    name = "rmle"
    needs = AttackNeeds(trainable=True, releases=RMLE_RELEASES)

    def __init__(self, *, samples: int = 32, steps: int = 500, device: str = "cpu") -> None:
        self.samples = samples
        self.steps = steps
        self.device = device

    @classmethod
    def for_budget(cls, budget: Budget, *, device: str) -> RmleAttack:
        return cls(samples=budget.rmle_samples, steps=budget.rmle_steps, device=device)

    def why_not_applicable(self, release: str) -> str:
        return f"no gradient target under {release}"

    def run(
        self, oracle: FeatureOracle, data: AttackData, *, seed: int, model: WhiteBoxAccess | None = None
    ) -> AttackOutcome:
        if model is None:
            raise ValueError("rMLE needs white-box access to the model")
        sample = data.eval[: self.samples]
        reconstructions = rmle_invert(
            model.trainable(),
            model.predict(sample),
            tuple(sample.shape[1:]),
            output_kind=model.output_kind,
            release=model.release,
            steps=self.steps,
            device=self.device,
        )
        covariance = data.covariance
        risks = per_sample_risk(sample, reconstructions, covariance)
        return AttackOutcome(
            reconstructions=reconstructions,
            R=float(risks.mean()),
            psnr=psnr(sample, reconstructions),
            ssim=ssim(sample, reconstructions),
            per_sample_risk=risks,
            originals=sample,
        )


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def log_features(outputs: torch.Tensor, output_kind: str, release: str) -> torch.Tensor:
    """Differentiable version of attacks.release for the releases rMLE supports (logits, softmax)."""
    if output_kind == "probabilities":
        log_p = torch.log(outputs.clamp_min(PROBABILITY_FLOOR))
        return log_p - log_p.mean(1, keepdim=True)
    if release == "softmax":
        log_p = torch.log_softmax(outputs, 1)
        return log_p - log_p.mean(1, keepdim=True)
    return outputs


def rmle_invert(
    module: torch.nn.Module,
    targets: np.ndarray,
    image_shape: tuple[int, int, int],
    *,
    output_kind: str,
    release: str,
    steps: int = 500,
    lr: float = 0.05,
    tv_weight: float = 0.01,
    device: str = "cpu",
) -> np.ndarray:
    """Reconstruct one image per row of `targets` (the model's raw outputs for the hidden inputs)."""
    module = module.to(device).eval()
    for param in module.parameters():
        param.requires_grad_(False)
    with torch.no_grad():
        wanted = log_features(torch.from_numpy(targets.astype(np.float32)).to(device), output_kind, release)
    # Optimise in logit space so x stays in (0, 1); zeros there is the grey image of the paper.
    latent = torch.zeros((len(targets), *image_shape), device=device, requires_grad=True)
    optimizer = torch.optim.Adam([latent], lr=lr)
    for _ in range(steps):
        x = torch.sigmoid(latent)
        got = log_features(module(x), output_kind, release)
        loss = ((got - wanted) ** 2).sum(1).mean() + tv_weight * total_variation(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return torch.sigmoid(latent).detach().cpu().numpy()
