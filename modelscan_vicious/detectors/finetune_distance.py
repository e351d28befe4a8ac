"""FineTuneDistanceDetector: how the suspect differs from honest references of its own architecture.

Evidence, each as the suspect's value against the references' values:
- inversion_gain: SSIM the surrogate inverse network reaches beyond the class prototype; vicious
  outputs carry the input, honest ones mostly the class.
- reconstruction_risk: R of the same attack. These two leakage measures are what a vicious model
  cannot suppress without giving up its purpose; the calibration relies on them.
- within_class_variance: share of output variance within predicted classes.
- within_class_rank: how many output directions vary within a class.
- finetune_drift (white-box): how far outputs move under a few steps of honest fine-tuning on the
  labelled set; a model trained for another objective too sits away from the task's optimum
  (the seed paper's proposed defence).
"""

from __future__ import annotations

import numpy as np

from modelscan_vicious.detectors.base import Detector, DetectorContext, DetectorNeeds, ModelUnderTest
from modelscan_vicious.detectors.calibration import calibration_for_scan
from modelscan_vicious.detectors.statistics import (
    centred_log_scores,
    reference_spread,
    relative_drift,
    robust_z,
    within_class_effective_rank,
    within_class_variance_share,
)
from modelscan_vicious.results import Evidence, ViciousnessResult
from modelscan_vicious.training.classifier import module_predictor, train_classifier

DESCRIPTIONS = {
    "inversion_gain": "SSIM a surrogate decoder reaches from the outputs, minus what the predicted class alone gives.",
    "reconstruction_risk": "Reconstruction risk R the surrogate decoder reaches from the full outputs.",
    "within_class_variance": "Share of output variance within predicted classes; classification needs little of it.",
    "within_class_rank": "Effective number of output directions that vary within a class.",
    "finetune_drift": "How far outputs move under honest fine-tuning on the labelled set, relative to their spread.",
}
INTERVAL = (5.0, 95.0)


class FineTuneDistanceDetector(Detector):
    name = "finetune-distance"
    needs = DetectorNeeds(reference_attack=True)  # white-box evidence is added when a trainable copy exists

    def run(self, context: DetectorContext) -> ViciousnessResult:
        suspect = self._statistics(context.suspect, context)
        references = [self._statistics(ref, context) for ref in context.references]
        names = [n for n in DESCRIPTIONS if n in suspect]
        ref_values = {n: np.array([r[n] for r in references]) for n in names}
        z_scores = {n: robust_z(suspect[n], ref_values[n]) for n in names}
        mode = "white-box" if context.white_box else "black-box"
        chosen = calibration_for_scan(mode, context.labelled_only, context.references_method)
        calibration, notes = chosen.model, list(chosen.notes)
        probability = calibration.probability(z_scores)
        interval = bootstrap_interval(calibration, suspect, ref_values, names, context)
        evidence = [
            Evidence(n, float(suspect[n]), [float(v) for v in ref_values[n]], DESCRIPTIONS[n], float(z_scores[n]))
            for n in names
        ]
        if not context.white_box:
            notes.append("black-box mode: no trainable copy, so no fine-tuning evidence")
        return ViciousnessResult(
            probability,
            interval,
            evidence,
            mode,
            calibration.describe(),
            notes,
            calibration_data=chosen.data,
            calibration_references=chosen.references,
        )

    def _statistics(self, model: ModelUnderTest, context: DetectorContext) -> dict[str, float]:
        outputs = model.predict(context.probe_images)
        scores = centred_log_scores(outputs, model.output_kind)
        classes = outputs.argmax(1)
        stats = {
            "inversion_gain": model.attack.ssim - model.attack.prototype_ssim,
            "reconstruction_risk": model.attack.R,
            "within_class_variance": within_class_variance_share(scores, classes),
            "within_class_rank": within_class_effective_rank(scores, classes),
        }
        if context.white_box and model.trainable is not None:
            tuned = train_classifier(
                model.trainable(),
                context.labelled_images,
                context.labelled_labels,
                output_kind=model.output_kind,
                steps=context.finetune_steps,
                seed=context.seed,
                device=context.device,
            )
            after = centred_log_scores(module_predictor(tuned, context.device)(context.probe_images), model.output_kind)
            stats["finetune_drift"] = relative_drift(scores, after)
        return stats


def bootstrap_interval(calibration, suspect, ref_values, names, context: DetectorContext) -> tuple[float, float]:
    """Spread of the probability when the reference seeds are resampled with replacement.

    The spread (denominator) stays that of all references: with 3-6 references, a resample that
    repeats one would collapse it and make every z-score explode.
    """
    rng = np.random.default_rng(context.seed)
    n_refs = len(next(iter(ref_values.values())))
    spreads = {n: reference_spread(ref_values[n]) for n in names}
    draws = []
    for _ in range(context.n_bootstrap):
        pick = rng.integers(0, n_refs, n_refs)
        z = {n: robust_z(suspect[n], ref_values[n][pick], spreads[n]) for n in names}
        draws.append(calibration.probability(z))
    low, high = np.percentile(draws, INTERVAL)
    return float(low), float(high)
