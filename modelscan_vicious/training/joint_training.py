"""Vicious training (Algorithm 1 of Malekzadeh & Gunduz): classifier F and server decoder G, trained jointly.

F minimises beta_C * CE(F(x), y) + beta_R * L_R(G(F(x)), x); G minimises L_R alone. L_R's gradient
reaches F through its outputs, which is what makes them invertible. beta_R = 0 is honest training
(G still learns to decode F's outputs, which measures what an honest model leaks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modelscan_vicious.metrics.image_quality import ssim_loss_fn

RELEASES = ("logits", "softmax")
# How the server's G reads softmax releases: "raw" probabilities (the paper's G) or their floored
# log (the attacker's usual trick, Yang et al. 2019), which lets F leak through softmax as through logits.
DECODER_INPUTS = ("raw", "log")


@dataclass(frozen=True)
class JointTrainingConfig:
    beta_c: float = 1.0
    beta_r: float = 0.0
    alpha: float = 1.0  # weight of (1 - SSIM) in L_R
    gamma: float = 5.0  # weight of Huber in L_R
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    release: str = "logits"
    decoder_input: str = "raw"  # for softmax release, see DECODER_INPUTS
    label_smoothing: float = 0.0
    input_noise: float = 0.0  # std of Gaussian noise added to training inputs (an unusual honest recipe)
    weight_decay: float = 0.0
    # Adaptive adversary: weight of a term that keeps F's outputs looking honest (little
    # within-class spread), so output statistics alone do not give the joint training away.
    adaptive_weight: float = 0.0
    seed: int = 0

    @property
    def is_vicious(self) -> bool:
        return self.beta_r > 0

    def to_dict(self) -> dict:
        return asdict(self)


def released(logits: torch.Tensor, release: str) -> torch.Tensor:
    """What the server receives from F: raw logits or the softmax probabilities."""
    return torch.softmax(logits, dim=1) if release == "softmax" else logits


def reconstruction_loss(config: JointTrainingConfig, image_shape: tuple[int, int, int]) -> Callable:
    one_minus_ssim = ssim_loss_fn(image_shape[1], image_shape[2])

    def loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return config.alpha * one_minus_ssim(x_hat, x) + config.gamma * F.huber_loss(x_hat, x, delta=1.0)

    return loss


def train_jointly(
    classifier: nn.Module,
    decoder: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    config: JointTrainingConfig,
    on_epoch: Callable[[int, float], None] | None = None,
) -> None:
    """Train F (classifier) and G (decoder) in place on images in [0, 1]."""
    generator = torch.Generator().manual_seed(config.seed)
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(labels)
    loss_r = reconstruction_loss(config, tuple(images.shape[1:]))
    opt_f = torch.optim.Adam(classifier.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    opt_g = torch.optim.Adam(decoder.parameters(), lr=config.lr)
    f_params, g_params = list(classifier.parameters()), list(decoder.parameters())
    for epoch in range(config.epochs):
        classifier.train()
        decoder.train()
        total = 0.0
        for index in torch.randperm(len(x_all), generator=generator).split(config.batch_size):
            x, y = x_all[index], y_all[index]
            x_in = x + config.input_noise * torch.randn(x.shape, generator=generator) if config.input_noise else x
            logits = classifier(x_in)
            ce = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
            rec = loss_r(decoder(released(logits, config.release)), x)
            loss_f = config.beta_c * ce + config.beta_r * rec
            if config.adaptive_weight:
                loss_f = loss_f + config.adaptive_weight * within_class_share(logits, y)
            # F follows L_F, G follows L_R only: two gradient computations over one graph.
            grads_f = torch.autograd.grad(loss_f, f_params, retain_graph=True, allow_unused=True)
            grads_g = torch.autograd.grad(rec, g_params)
            _apply(opt_f, f_params, grads_f)
            _apply(opt_g, g_params, grads_g)
            total += loss_f.item() * len(index)
        if on_epoch is not None:
            on_epoch(epoch, total / len(x_all))
    classifier.eval()
    decoder.eval()


def within_class_share(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Differentiable share of (row-centred) logit variance within classes, over one batch."""
    scores = logits - logits.mean(1, keepdim=True)
    total = ((scores - scores.mean(0)) ** 2).sum() + 1e-8
    within = scores.new_zeros(())
    for c in labels.unique():
        members = scores[labels == c]
        within = within + ((members - members.mean(0)) ** 2).sum()
    return within / total


def _apply(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], grads) -> None:
    for param, grad in zip(params, grads):
        param.grad = grad
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@torch.no_grad()
def evaluate_classifier(classifier: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    classifier.eval()
    logits = classifier(torch.from_numpy(images))
    return float((logits.argmax(1).numpy() == labels).mean())


@torch.no_grad()
def decode(classifier: nn.Module, decoder: nn.Module, images: np.ndarray, release: str) -> np.ndarray:
    classifier.eval()
    decoder.eval()
    return decoder(released(classifier(torch.from_numpy(images)), release)).numpy()
