"""Pure statistics on model outputs that the viciousness evidence is built from."""

from __future__ import annotations

import numpy as np

from modelscan_vicious.release import PROBABILITY_FLOOR


def centred_log_scores(outputs: np.ndarray, output_kind: str) -> np.ndarray:
    """Logits (or log-probabilities) minus their row mean: invariant to the per-row shift softmax removes."""
    scores = np.log(np.maximum(outputs, PROBABILITY_FLOOR)) if output_kind == "probabilities" else outputs
    scores = scores.astype(np.float64)
    return scores - scores.mean(axis=1, keepdims=True)


def within_class_variance_share(scores: np.ndarray, classes: np.ndarray) -> float:
    """Share of output variance left once each predicted class's mean is removed.

    A classifier needs only between-class spread; a vicious one spreads outputs within a class
    to encode the input.
    """
    total = ((scores - scores.mean(0)) ** 2).sum()
    if total <= 0:
        return 0.0
    within = sum(((scores[classes == c] - scores[classes == c].mean(0)) ** 2).sum() for c in np.unique(classes))
    return float(within / total)


def within_class_effective_rank(scores: np.ndarray, classes: np.ndarray) -> float:
    """Participation ratio (sum l)^2 / sum l^2 of the within-class covariance eigenvalues."""
    residual = np.concatenate([scores[classes == c] - scores[classes == c].mean(0) for c in np.unique(classes)])
    eigenvalues = np.clip(np.linalg.eigvalsh(np.cov(residual, rowvar=False)), 0, None)
    if eigenvalues.sum() <= 0:
        return 0.0
    return float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())


def relative_drift(before: np.ndarray, after: np.ndarray) -> float:
    """How far outputs moved, relative to their own spread: ||after - before|| / ||before - mean||."""
    spread = np.linalg.norm(before - before.mean(0))
    return float(np.linalg.norm(after - before) / max(spread, 1e-12))


def reference_spread(references: np.ndarray, relative_floor: float = 0.05, absolute_floor: float = 1e-3) -> float:
    """Std of the references, floored: a handful of references can agree too closely."""
    std = float(np.std(references, ddof=1)) if len(references) > 1 else 0.0
    return max(std, relative_floor * abs(float(np.mean(references))), absolute_floor)


def robust_z(suspect: float, references: np.ndarray, spread: float | None = None) -> float:
    """(suspect - mean(references)) / spread, with the floored reference spread by default."""
    spread = reference_spread(references) if spread is None else spread
    return float((suspect - np.mean(references)) / spread)
