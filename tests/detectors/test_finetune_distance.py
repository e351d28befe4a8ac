"""FineTuneDistanceDetector on a small context built from the session's tiny models."""

from __future__ import annotations

import numpy as np
import pytest

import modelscan_vicious.detectors.finetune_distance  # noqa: F401  (registers the detector)
from modelscan_vicious.attacks.base import AttackData
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.detectors.base import DETECTORS, DetectorContext, ModelUnderTest
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.detectors.finetune_distance import DESCRIPTIONS, FineTuneDistanceDetector
from modelscan_vicious.errors import DetectorError
from modelscan_vicious.loading import load_model
from modelscan_vicious.release import attack_features, released_outputs
from modelscan_vicious.scanning import plugins  # noqa: F401  (fills the registries)
from modelscan_vicious.training.classifier import module_predictor, reinitialise, train_classifier

N_REFERENCES = 2


def _model_under_test(predict, output_kind, data, trainable):
    def oracle(x):
        return attack_features(released_outputs(predict(x), output_kind, "logits"), output_kind, "logits")

    outcome = InverseNetworkAttack(epochs=3).run(oracle, data, seed=0)
    return ModelUnderTest(predict, output_kind, outcome, trainable)


@pytest.fixture(scope="module")
def parts(tiny_models, digits_splits):
    """Suspect: the vicious ONNX model. References: its architecture re-initialised and trained honestly."""
    pool = digits_splits.pool
    labelled_images, labelled_labels = pool.images[:120], pool.labels[:120]
    data = AttackData(
        train=pool.images[120:420],
        eval=pool.images[420:480],
        covariance_samples=pool.images[120:420],
        description="pool",
        lower_bound=False,
    )
    model = load_model(tiny_models.vicious_onnx.path)
    suspect = _model_under_test(model.predict, model.output_kind, data, model.trainable_copy)
    references = []
    for seed in range(N_REFERENCES):
        module = train_classifier(
            reinitialise(model.trainable_copy(), seed),
            pool.images[:420],
            pool.labels[:420],
            output_kind="logits",
            epochs=3,
            seed=seed,
        )

        def copier(module=module):
            fresh = model.trainable_copy()
            fresh.load_state_dict(module.state_dict())
            return fresh

        references.append(_model_under_test(module_predictor(module), "logits", data, copier))
    return dict(
        suspect=suspect,
        references=references,
        labelled_images=labelled_images,
        labelled_labels=labelled_labels,
        probe_images=pool.images[480:540],
    )


def context(parts, *, white_box: bool = True, seed: int = 0, labelled_only: bool = False) -> DetectorContext:
    return DetectorContext(
        **parts,
        finetune_steps=5,
        n_bootstrap=50,
        seed=seed,
        device="cpu",
        white_box=white_box,
        labelled_only=labelled_only,
    )


def test_registered_under_its_name():
    assert isinstance(DETECTORS.create("finetune-distance"), FineTuneDistanceDetector)
    assert DETECTORS.names() == ["finetune-distance"]
    with pytest.raises(KeyError, match="finetune-distance"):
        DETECTORS.create("weight-histogram")


def test_white_box_result_has_all_evidence_and_a_probability_inside_its_interval(parts, use_calibration):
    use_calibration(gain_coef=0.5)
    result = FineTuneDistanceDetector().run(context(parts))
    assert result.mode == "white-box" and result.notes == []
    assert 0.0 <= result.probability <= 1.0
    low, high = result.interval
    assert 0.0 <= low <= high <= 1.0
    assert low - 1e-9 <= result.probability <= high + 1e-9
    assert [e.name for e in result.evidence] == list(DESCRIPTIONS)  # finetune_drift included
    for evidence in result.evidence:
        assert len(evidence.reference_values) == N_REFERENCES
        assert np.isfinite(evidence.suspect_value) and np.isfinite(evidence.z_score)
        assert evidence.description == DESCRIPTIONS[evidence.name]
    assert "4 fixtures" in result.calibration


def test_probability_follows_the_calibration(parts, use_calibration):
    use_calibration(gain_coef=0.0, intercept=3.0)
    high = FineTuneDistanceDetector().run(context(parts))
    assert high.probability == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert high.interval == pytest.approx((high.probability, high.probability))  # nothing to resample
    use_calibration(gain_coef=0.0, intercept=-3.0)
    assert FineTuneDistanceDetector().run(context(parts)).probability == pytest.approx(1 / (1 + np.exp(3.0)))


def test_black_box_mode_drops_the_fine_tuning_evidence(parts, use_calibration):
    use_calibration()
    result = FineTuneDistanceDetector().run(context(parts, white_box=False))
    assert result.mode == "black-box"
    assert [e.name for e in result.evidence] == [n for n in DESCRIPTIONS if n != "finetune_drift"]
    assert any("black-box" in note for note in result.notes)


def test_same_seed_same_result(parts, use_calibration):
    use_calibration(gain_coef=0.5)
    first, second = (FineTuneDistanceDetector().run(context(parts, seed=2)) for _ in range(2))
    assert first.probability == second.probability and first.interval == second.interval
    assert [e.suspect_value for e in first.evidence] == [e.suspect_value for e in second.evidence]


def test_missing_calibration_is_a_detector_error(parts, tmp_path, monkeypatch):
    monkeypatch.setenv(CALIBRATION_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(DetectorError, match="missing.json"):
        FineTuneDistanceDetector().run(context(parts))


@pytest.mark.parametrize("white_box", [True, False], ids=["white-box", "black-box"])
def test_a_scan_without_aux_takes_the_labelled_only_calibration(parts, use_calibration, white_box):
    use_calibration(gain_coef=0.0, intercept=3.0, labelled_only_intercept=-3.0)
    result = FineTuneDistanceDetector().run(context(parts, white_box=white_box, labelled_only=True))
    assert result.probability == pytest.approx(1 / (1 + np.exp(3.0)))
    assert result.calibration_data == "labelled-only" and result.mode == ("white-box" if white_box else "black-box")
    assert "labelled-only" in result.calibration and "6 fixtures" in result.calibration  # the mode's own provenance
    assert any("without --aux" in note for note in result.notes)
    with_aux = FineTuneDistanceDetector().run(context(parts, white_box=white_box))
    assert with_aux.probability == pytest.approx(1 / (1 + np.exp(-3.0))) and with_aux.calibration_data == "auxiliary"


def test_a_file_without_the_labelled_only_fit_falls_back_and_says_so(parts, use_calibration):
    use_calibration(gain_coef=0.0, intercept=3.0)
    result = FineTuneDistanceDetector().run(context(parts, labelled_only=True))
    assert result.probability == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert result.calibration_data == "auxiliary"
    assert any("no calibration for scans without --aux" in note for note in result.notes)
