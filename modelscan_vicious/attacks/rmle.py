"""White-box regularised maximum-likelihood inversion (rMLE, He et al. 2019, section 2 of REFERENCE.md).

For each released vector v, optimise an image x in [0, 1] so that the model's released features of
x match v, with a total-variation prior: min ||phi(f(x)) - v||^2 + lambda * TV(x), by Adam from a
grey image. It needs gradients, so it runs only when a trainable copy exists, on a sample of the
held-out inputs; the scan reports whichever attack reconstructs better.
"""

from __future__ import annotations

import numpy as np
import torch

from modelscan_vicious.release import PROBABILITY_FLOOR


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
