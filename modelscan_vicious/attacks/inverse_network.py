"""Black-box surrogate inverse network (He et al. 2019; Yang et al. 2019).

Query the model on the attacker's inputs, then train a decoder from released outputs back to the
inputs with the server's own reconstruction loss. Only outputs are used: any model qualifies.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from modelscan_vicious.attacks.base import Attack, AttackData, AttackNeeds, AttackOutcome, FeatureOracle, WhiteBoxAccess
from modelscan_vicious.attacks.feature_encoding import ClassResidualEncoder
from modelscan_vicious.metrics import per_sample_risk, psnr, ssim
from modelscan_vicious.metrics.image_quality import ssim_loss_fn
from modelscan_vicious.training.decoders import OutputDecoder

if TYPE_CHECKING:
    from modelscan_vicious.config import Budget

HUBER_WEIGHT = 5.0  # the paper's gamma: the attacker uses the server's loss
# Long budgets overfit a few hundred auxiliary inputs (thorough scored below fast before this): a
# validation slice picks the epoch whose decoder generalises best. Growing small attacker sets with
# shifted, noisy copies brought the surrogate closer to the server's G but made honest and vicious
# digits models decode alike (both leakage evidences lost ROC-AUC), so it is not used.
VALIDATION_FRACTION = 0.1
MIN_VALIDATION = 16


class InverseNetworkAttack(Attack):
    name = "inverse-network"
    needs = AttackNeeds(references=True)  # outputs only, any release; the scan's reference attack

    def __init__(self, *, epochs: int = 40, batch_size: int = 64, lr: float = 1e-3, device: str = "cpu") -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device

    @classmethod
    def for_budget(cls, budget: Budget, *, device: str) -> InverseNetworkAttack:
        return cls(epochs=budget.attack_epochs, device=device)

    def run(
        self, oracle: FeatureOracle, data: AttackData, *, seed: int, model: WhiteBoxAccess | None = None
    ) -> AttackOutcome:
        rng = np.random.default_rng(seed)
        train_inputs, validation_inputs = _split_validation(data.train, rng)
        train_features, eval_features = oracle(train_inputs), oracle(data.eval)
        encoder = ClassResidualEncoder.fit(train_features)
        validation = None
        if validation_inputs is not None:
            validation = (encoder.encode(oracle(validation_inputs)), validation_inputs)
        decoder = self._fit(encoder.encode(train_features), train_inputs, validation, seed)
        with torch.no_grad():
            inputs = torch.from_numpy(encoder.encode(eval_features)).to(self.device)
            reconstructions = decoder(inputs).cpu().numpy()
        covariance = data.covariance
        risks = per_sample_risk(data.eval, reconstructions, covariance)
        return AttackOutcome(
            reconstructions=reconstructions,
            R=float(risks.mean()),
            psnr=psnr(data.eval, reconstructions),
            ssim=ssim(data.eval, reconstructions),
            per_sample_risk=risks,
            prototype_ssim=_prototype_ssim(train_features, train_inputs, eval_features, data.eval),
        )

    def _fit(self, features: np.ndarray, images: np.ndarray, validation, seed: int) -> OutputDecoder:
        """Train with the server's loss; with a validation set, keep the epoch that scores best on it."""
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        decoder = OutputDecoder(features.shape[1], tuple(images.shape[1:])).to(self.device)
        optimizer = torch.optim.Adam(decoder.parameters(), lr=self.lr)
        one_minus_ssim = ssim_loss_fn(images.shape[2], images.shape[3])
        x_all = torch.from_numpy(images.astype(np.float32)).to(self.device)
        v_all = torch.from_numpy(features.astype(np.float32)).to(self.device)

        def server_loss(x_hat, x):
            return one_minus_ssim(x_hat, x) + HUBER_WEIGHT * F.huber_loss(x_hat, x, delta=1.0)

        best_loss, best_state = float("inf"), None
        for _ in range(self.epochs):
            decoder.train()
            for index in torch.randperm(len(x_all), generator=generator).split(self.batch_size):
                loss = server_loss(decoder(v_all[index]), x_all[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if validation is not None:
                validation_loss = self._evaluate(decoder.eval(), validation, server_loss)
                if validation_loss < best_loss:
                    best_loss, best_state = validation_loss, copy.deepcopy(decoder.state_dict())
        if best_state is not None:
            decoder.load_state_dict(best_state)
        return decoder.eval()

    @torch.no_grad()
    def _evaluate(self, decoder: OutputDecoder, validation, loss_fn) -> float:
        features, images = validation
        v = torch.from_numpy(features).to(self.device)
        x = torch.from_numpy(images.astype(np.float32)).to(self.device)
        return float(loss_fn(decoder(v), x))


def _split_validation(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Hold out a validation slice; sets too small to spare one train on everything."""
    n_validation = int(VALIDATION_FRACTION * len(images))
    if n_validation < MIN_VALIDATION:
        return images, None
    order = rng.permutation(len(images))
    return images[order[n_validation:]], images[order[:n_validation]]


def _prototype_ssim(train_features, train_images, eval_features, eval_images) -> float:
    """SSIM of the mean training image of each input's predicted class: the label's worth of leakage."""
    train_classes, eval_classes = train_features.argmax(1), eval_features.argmax(1)
    overall = train_images.mean(0)
    prototypes = {c: train_images[train_classes == c].mean(0) for c in np.unique(train_classes)}
    guesses = np.stack([prototypes.get(c, overall) for c in eval_classes])
    return ssim(eval_images, guesses)
