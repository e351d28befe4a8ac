"""Reconstruction risk R (Malekzadeh & Gunduz, 2022) and the Mahalanobis maths behind it.

R = (1/n) * sum_i d(x_i, mu_D) / d(x_i, x_tilde_i), with d the Mahalanobis distance under
the data covariance Sigma_D. R = 1 when the attacker can only output the mean; larger R
means the reconstructions are closer to the inputs than the mean is, i.e. more leakage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ESTIMATORS: tuple[str, ...] = ("ledoit-wolf", "oas", "empirical-pinv")
"""Covariance estimators `fit_covariance` accepts; "empirical-pinv" is the paper's own."""


@dataclass(frozen=True, eq=False)
class CovarianceModel:
    """Mean and precision (inverse covariance) of the data distribution, with provenance.

    The arrays are copied to float64 and made read-only, so a fitted model cannot change.
    """

    mean: np.ndarray
    precision: np.ndarray
    estimator: str
    n_samples: int

    def __post_init__(self) -> None:
        for name in ("mean", "precision"):
            array = np.array(getattr(self, name), dtype=np.float64)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        d = self.mean.shape[0] if self.mean.ndim == 1 else -1
        if self.precision.shape != (d, d):
            raise ValueError(
                f"mean must be (d,) and precision (d, d); got {self.mean.shape} and {self.precision.shape}"
            )

    @property
    def dimension(self) -> int:
        """Number of features (flattened pixels) the model covers."""
        return int(self.mean.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """What a report needs to say about how R was measured."""
        return {
            "estimator": self.estimator,
            "n_samples": self.n_samples,
            "dimension": self.dimension,
        }


def _flatten_rows(array: Any, name: str) -> np.ndarray:
    """Return `array` as a float64 (n, d) matrix, flattening image dimensions."""
    if hasattr(array, "detach"):  # a torch tensor; avoid importing torch here
        array = array.detach().cpu().numpy()
    matrix = np.asarray(array, dtype=np.float64)
    if matrix.ndim < 2:
        raise ValueError(f"{name} must have shape (n, d) or (n, C, H, W); got shape {matrix.shape}")
    matrix = matrix.reshape(matrix.shape[0], -1)
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix


def fit_covariance(samples: np.ndarray, estimator: str = "ledoit-wolf") -> CovarianceModel:
    """Estimate mu_D and Sigma_D^-1 from (n, d) flattened images in [0, 1].

    "ledoit-wolf" and "oas" are shrinkage estimators, well conditioned even when n < d;
    "empirical-pinv" reproduces the paper's code: np.cov and a pseudo-inverse with the
    default cut-off, which is ill-conditioned with few samples.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown covariance estimator {estimator!r}; expected one of {list(ESTIMATORS)}")
    data = _flatten_rows(samples, "samples")
    n_samples = data.shape[0]
    if n_samples < 2:
        raise ValueError(f"need at least 2 samples to estimate a covariance; got {n_samples}")

    if estimator == "empirical-pinv":
        mean = data.mean(axis=0)
        covariance = np.atleast_2d(np.cov(data, rowvar=False))
        precision = np.linalg.pinv(covariance)
    else:
        from sklearn.covariance import OAS, LedoitWolf

        fitted = (LedoitWolf() if estimator == "ledoit-wolf" else OAS()).fit(data)
        mean, precision = fitted.location_, fitted.precision_

    return CovarianceModel(
        mean=mean,
        precision=precision,
        estimator=estimator,
        n_samples=n_samples,
    )


def mahalanobis_distances(a: np.ndarray, b: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Row-wise Mahalanobis distances sqrt((a_i - b_i)^T P (a_i - b_i)).

    `a` is (n, d); `b` is (n, d) or a single (d,) point broadcast to every row.
    Tiny negative quadratic forms (round-off with a pseudo-inverse) are clamped to 0.
    """
    rows = np.asarray(a, dtype=np.float64)
    others = np.asarray(b, dtype=np.float64)
    prec = np.asarray(precision, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"a must have shape (n, d); got {rows.shape}")
    d = rows.shape[1]
    if prec.shape != (d, d):
        raise ValueError(f"precision must have shape ({d}, {d}) to match a; got {prec.shape}")
    if others.shape not in (rows.shape, (d,)):
        raise ValueError(f"b must have shape {rows.shape} or ({d},); got {others.shape}")

    diff = rows - others
    quadratic = np.einsum("ij,jk,ik->i", diff, prec, diff)
    return np.sqrt(np.maximum(quadratic, 0.0))


def per_sample_risk(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    cov: CovarianceModel,
    eps: float = 1e-12,
) -> np.ndarray:
    """Per-sample d(x_i, mu_D) / max(d(x_i, x_tilde_i), eps); inputs (n, d) or (n, C, H, W)."""
    x = _flatten_rows(originals, "originals")
    x_tilde = _flatten_rows(reconstructions, "reconstructions")
    if x.shape != x_tilde.shape:
        raise ValueError(
            f"originals and reconstructions must have the same shape once flattened; got {x.shape} and {x_tilde.shape}"
        )
    if x.shape[1] != cov.dimension:
        raise ValueError(f"images have {x.shape[1]} features but the covariance model was fitted on {cov.dimension}")
    to_mean = mahalanobis_distances(x, cov.mean, cov.precision)
    to_reconstruction = mahalanobis_distances(x, x_tilde, cov.precision)
    return to_mean / np.maximum(to_reconstruction, eps)


def reconstruction_risk(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    cov: CovarianceModel,
) -> float:
    """The paper's R: the mean of `per_sample_risk` over the set."""
    risks = per_sample_risk(originals, reconstructions, cov)
    if risks.size == 0:
        raise ValueError("cannot compute reconstruction risk over an empty set")
    return float(risks.mean())
