"""Evidence z-scores to a probability: loading, applying and fitting the logistic calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelscan_vicious.detectors.calibration import (
    CALIBRATION_ENV,
    Z_CLIP,
    calibration_for_scan,
    calibration_mode,
    calibration_path,
    fit_calibration,
    has_calibration,
    load_calibration,
)
from modelscan_vicious.errors import DetectorError

FEATURES = ("inversion_gain", "within_class_variance", "within_class_rank")


def test_env_var_overrides_the_calibration_path(use_calibration):
    path = use_calibration()
    assert calibration_path() == path
    model = load_calibration("white-box")
    assert model.features[-1] == "finetune_drift" and model.coef.shape == (4,)


def test_shipped_path_is_inside_the_package(monkeypatch):
    monkeypatch.delenv(CALIBRATION_ENV, raising=False)
    path = calibration_path()
    assert path.name == "calibration.json" and path.parent.name == "modelscan_vicious"


def test_probability_is_the_logistic_of_the_clipped_linear_score(use_calibration):
    use_calibration(gain_coef=0.8, intercept=-1.0)
    model = load_calibration("black-box")
    z = {"inversion_gain": 2.0, "within_class_variance": 50.0, "within_class_rank": -3.0}
    assert model.probability(z) == pytest.approx(1 / (1 + np.exp(-(0.8 * 2.0 - 1.0))))
    huge = model.probability({**z, "inversion_gain": 1e6})
    assert huge == pytest.approx(1 / (1 + np.exp(-(0.8 * Z_CLIP - 1.0))))  # clipped, not saturated by 1e6
    assert 0.0 < model.probability({**z, "inversion_gain": -1e6}) < huge


def test_describe_names_the_provenance(use_calibration):
    use_calibration()
    text = load_calibration("white-box").describe()
    assert "4 fixtures" in text and "2 honest" in text and "test" in text


def test_missing_file_is_a_detector_error(tmp_path, monkeypatch):
    missing = tmp_path / "nope.json"
    monkeypatch.setenv(CALIBRATION_ENV, str(missing))
    with pytest.raises(DetectorError, match="nope.json"):
        load_calibration("white-box")


def test_missing_mode_and_malformed_file_are_detector_errors(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"modes": {"white-box": {"features": ["a"], "coef": [1.0], "intercept": 0.0}}}))
    with pytest.raises(DetectorError, match="black-box"):
        load_calibration("black-box", path)
    path.write_text("{not json")
    with pytest.raises(DetectorError):
        load_calibration("white-box", path)
    path.write_text(json.dumps({"modes": {"white-box": {"features": ["a"], "coef": [1.0], "intercept": "x"}}}))
    with pytest.raises(DetectorError):
        load_calibration("white-box", path)


def test_fit_learns_the_informative_feature_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    labels = [0] * 20 + [1] * 20
    rows = [
        {"inversion_gain": rng.normal(3.0 * y, 0.5), "within_class_variance": rng.normal(), "within_class_rank": 40.0}
        for y in labels
    ]  # the rank is clipped to Z_CLIP for every row: no information
    entry = fit_calibration(rows, labels, FEATURES)
    assert entry["features"] == list(FEATURES)
    assert entry["coef"][0] > 1.0 and abs(entry["coef"][0]) > 5 * abs(entry["coef"][1])
    path = tmp_path / "fitted.json"
    path.write_text(json.dumps({"provenance": {}, "modes": {"black-box": entry}}))  # plain JSON numbers
    model = load_calibration("black-box", path)
    p = [model.probability(r) for r in rows]
    assert np.mean(p[20:]) > 0.8 and np.mean(p[:20]) < 0.2


def _with_held_out(path, mode, checks):
    document = json.loads(path.read_text())
    document["modes"][mode]["held_out"] = checks
    path.write_text(json.dumps(document))


def _check(zoo, honest_flagged, leaking_flagged, threshold=0.65):
    return {
        "zoo": zoo,
        "threshold": threshold,
        "n_honest": 40,
        "honest_flagged": honest_flagged,
        "n_leaking": 24,
        "leaking_flagged": leaking_flagged,
    }


def test_held_out_checks_become_one_note_citing_every_zoo(use_calibration):
    path = use_calibration()
    assert load_calibration("white-box").held_out_note() is None
    assert calibration_for_scan("white-box", labelled_only=False).notes == []  # unmeasured: nothing claimed
    _with_held_out(path, "white-box", [_check("digits 8x8", 6, 18), _check("MNIST 28x28", 0, 23)])
    chosen = calibration_for_scan("white-box", labelled_only=False)
    notes = chosen.notes
    assert chosen.data == "auxiliary" and chosen.references == "scratch" and len(notes) == 1
    assert notes[0] == (
        "this calibration on held-out zoos scanned the same way: digits 8x8 (P >= 0.65): honest 6/40 flagged, "
        "leaking vicious 18/24 flagged; MNIST 28x28 (P >= 0.65): honest 0/40 flagged, leaking vicious 23/24 flagged"
    )
    assert calibration_for_scan("black-box", labelled_only=False).notes == []  # a record belongs to its mode


def test_each_held_out_zoo_names_the_gate_its_counts_are_at(use_calibration):
    path = use_calibration()
    _with_held_out(path, "white-box", [_check("a", 1, 2, threshold=0.5), _check("b", 3, 4, threshold=0.65)])
    note = load_calibration("white-box").held_out_note()
    assert "a (P >= 0.50): honest 1/40 flagged" in note and "b (P >= 0.65): honest 3/40 flagged" in note


def test_a_malformed_held_out_record_is_a_detector_error(use_calibration):
    path = use_calibration()
    _with_held_out(path, "white-box", [{"zoo": "x", "flagged": 3}])
    with pytest.raises(DetectorError, match="white-box"):
        load_calibration("white-box")


def test_calibration_modes_are_keyed_by_access_aux_and_reference_method():
    assert calibration_mode("white-box", labelled_only=False) == "white-box"
    assert calibration_mode("black-box", labelled_only=True) == "black-box/labelled-only"
    assert calibration_mode("white-box", labelled_only=False, references="head") == "white-box/head"
    assert calibration_mode("white-box", labelled_only=True, references="head") == "white-box/head/labelled-only"


def test_a_head_scan_takes_the_head_fit_where_the_file_has_one(use_calibration):
    use_calibration(intercept=0.0, head_intercept=-2.0)
    assert has_calibration("white-box/head") and not has_calibration("white-box/head/labelled-only")
    chosen = calibration_for_scan("white-box", labelled_only=False, references="head")
    assert chosen.references == "head" and chosen.data == "auxiliary" and chosen.model.mode == "white-box/head"
    z = {"inversion_gain": 2.0, "within_class_variance": 5.0, "within_class_rank": 5.0, "finetune_drift": 5.0}
    assert chosen.model.probability(z) == pytest.approx(0.5)  # sigmoid(2 - 2): only the gain counts
    assert "8 fixtures" in chosen.model.describe()  # the head fit's own provenance
    assert any("fitted on head-reference scans" in n for n in chosen.notes)
    # No head fit without --aux in this file: the labelled-only scratch fit would be next; here the
    # auxiliary one. Either way the scan says it is not scored by a head fit (references "scratch").
    fallback = calibration_for_scan("white-box", labelled_only=True, references="head")
    assert fallback.references == "scratch" and fallback.model.mode == "white-box"
    assert fallback.notes[0].startswith("no calibration for head references")
    # A from-scratch scan never takes the head fit.
    assert calibration_for_scan("white-box", labelled_only=False).model.mode == "white-box"


def test_without_a_head_fit_a_head_scan_falls_back_and_says_so(use_calibration):
    use_calibration()
    chosen = calibration_for_scan("white-box", labelled_only=False, references="head")
    assert chosen.references == "scratch" and chosen.model.mode == "white-box"
    assert "no calibration for head references" in chosen.notes[0] and "white-box/head" in chosen.notes[0]
