"""Pure metrics: reconstruction risk R (Mahalanobis-based), PSNR and SSIM.

Importing this package loads only numpy; torch and scikit-learn are imported by the
functions that need them.
"""

from modelscan_vicious.metrics.image_quality import (
    PAPER_WINDOW_SIZE,
    WINDOW_SIGMA,
    psnr,
    ssim,
    ssim_loss_fn,
    ssim_per_sample,
    ssim_window_size,
)
from modelscan_vicious.metrics.risk import (
    ESTIMATORS,
    CovarianceModel,
    fit_covariance,
    mahalanobis_distances,
    per_sample_risk,
    reconstruction_risk,
)

__all__ = [
    "ESTIMATORS",
    "PAPER_WINDOW_SIZE",
    "WINDOW_SIGMA",
    "CovarianceModel",
    "fit_covariance",
    "mahalanobis_distances",
    "per_sample_risk",
    "psnr",
    "reconstruction_risk",
    "ssim",
    "ssim_loss_fn",
    "ssim_per_sample",
    "ssim_window_size",
]
