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


# Above this many features (64x64 grey; 3x32x32 RGB stays below) a dense d x d precision no longer fits
# memory (3x224x224 would need 181 GB): Ledoit-Wolf is then held as low-rank factors, the same estimate.
DENSE_MAX_FEATURES = 4096
# Samples the low-rank estimate uses at most: its cost grows with n^2 d (2 s for 512 samples at 3x224x224
# measured on 2 cores would be 30 s at 2,000), and its rank with n.
MAX_LOW_RANK_SAMPLES = 512


@dataclass(frozen=True, eq=False)
class CovarianceModel:
    """Mean and precision (inverse covariance) of the data distribution, with provenance.

    The precision is dense (`precision`, d x d) up to DENSE_MAX_FEATURES, and above it the shrunk
    estimate's exact low-rank form: Sigma = V diag(a) V^T + nu I, held as the centred samples, a map from
    their projections to V^T x, and the shrink factors (see `_fit_low_rank`). Arrays are read-only.
    """

    mean: np.ndarray
    precision: np.ndarray | None
    estimator: str
    n_samples: int
    low_rank: LowRankPrecision | None = None

    def __post_init__(self) -> None:
        for name in ("mean", "precision"):
            value = getattr(self, name)
            if value is None:
                continue
            array = np.array(value, dtype=np.float64)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        if (self.precision is None) == (self.low_rank is None):
            raise ValueError("give either a dense precision or low-rank factors")
        d = self.mean.shape[0] if self.mean.ndim == 1 else -1
        if self.precision is not None and self.precision.shape != (d, d):
            raise ValueError(
                f"mean must be (d,) and precision (d, d); got {self.mean.shape} and {self.precision.shape}"
            )

    @property
    def dimension(self) -> int:
        """Number of features (flattened pixels) the model covers."""
        return int(self.mean.shape[0])

    def distances(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row-wise Mahalanobis distances between (n, d) `a` and (n, d) or (d,) `b`."""
        if self.precision is not None:
            return mahalanobis_distances(a, b, self.precision)
        assert self.low_rank is not None
        return self.low_rank.distances(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        """What a report needs to say about how R was measured."""
        return {
            "estimator": self.estimator,
            "n_samples": self.n_samples,
            "dimension": self.dimension,
        }


@dataclass(frozen=True, eq=False)
class LowRankPrecision:
    """Sigma^-1 = (I - V diag(w) V^T) / nu with V^T x = projection^T (centred @ x): never a d x d array."""

    centred: np.ndarray  # (n, d) float32: the samples minus their mean
    projection: np.ndarray  # (n, r): eigenvectors of the Gram matrix over sqrt(eigenvalue)
    weights: np.ndarray  # (r,): a / (a + nu), a the shrunk sample-covariance eigenvalues
    nu: float  # shrinkage * mu: the isotropic part

    def distances(self, diff: np.ndarray, chunk: int = 256) -> np.ndarray:
        quadratic = np.empty(len(diff))
        for start in range(0, len(diff), chunk):
            rows = diff[start : start + chunk]
            # float32 for the one product over d (a 3x224x224 float64 copy would be 0.6 GB); the rest float64.
            products = (rows.astype(np.float32) @ self.centred.T).astype(np.float64)
            coordinates = products @ self.projection  # (rows, r) = V^T x
            quadratic[start : start + chunk] = (
                np.einsum("ij,ij->i", rows, rows) - (coordinates**2) @ self.weights
            ) / self.nu
        return np.sqrt(np.maximum(quadratic, 0.0))


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

    if estimator == "ledoit-wolf" and data.shape[1] > DENSE_MAX_FEATURES:
        return _fit_low_rank(data[:MAX_LOW_RANK_SAMPLES])
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


def _fit_low_rank(data: np.ndarray) -> CovarianceModel:
    """Ledoit-Wolf from the n x n Gram matrix, for images too large for a d x d covariance.

    scikit-learn's LedoitWolf (the dense path) builds d x d matrices. Its shrinkage needs only
    sums that the Gram matrix G = X X^T of the centred samples X gives: tr(S) = tr(G)/n,
    ||S||_F^2 = ||G||_F^2/n^2 and sum_i ||x_i||^4 = sum_i G_ii^2, with S = X^T X / n. The shrunk
    covariance (1 - s) S + s mu I then inverts in closed form on S's eigenvectors (Woodbury).
    Same estimate, same formulas as scikit-learn's `ledoit_wolf_shrinkage`, in O(n^2 d).
    """
    n, d = data.shape
    mean = data.mean(axis=0)
    centred = data - mean
    gram = centred @ centred.T
    trace = float(np.trace(gram)) / n  # tr(S)
    mu = trace / d
    fourth_moments = float(np.sum(np.diag(gram) ** 2))  # sum_i ||x_i||^4
    squared_norm = float(np.sum(gram**2)) / n**2  # ||S||_F^2
    beta = (fourth_moments / n - squared_norm) / (d * n)
    delta = (squared_norm - 2.0 * mu * trace + d * mu**2) / d
    shrinkage = 0.0 if min(beta, delta) == 0 else min(beta, delta) / delta
    nu = shrinkage * mu
    if not nu > 0:
        raise ValueError("the covariance samples are degenerate (no shrinkage target): too few or identical inputs")
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    keep = eigenvalues > eigenvalues.max() * 1e-12  # G has rank at most n - 1 after centring
    eigenvalues, eigenvectors = eigenvalues[keep], eigenvectors[:, keep]
    shrunk = (1.0 - shrinkage) * eigenvalues / n
    factors = LowRankPrecision(
        centred=centred.astype(np.float32),
        projection=eigenvectors / np.sqrt(eigenvalues),
        weights=shrunk / (shrunk + nu),
        nu=nu,
    )
    return CovarianceModel(mean=mean, precision=None, estimator="ledoit-wolf", n_samples=n, low_rank=factors)


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
    to_mean = cov.distances(x, cov.mean)
    to_reconstruction = cov.distances(x, x_tilde)
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
