"""Turning evidence z-scores into a probability: a logistic model fitted on honest and vicious fixtures.

The fitted coefficients ship as `modelscan_vicious/calibration.json` (plain numbers and provenance,
no pickle); `benchmarks/calibrate.py` refits them. Applying it needs only numpy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from modelscan_vicious.errors import DetectorError, first_line

Z_CLIP = 10.0  # z-scores beyond this carry no extra information and would dominate the fit
# Every calibration fixture was scanned with a labelled set of this many rows. With fewer, the
# references learn from fewer examples than the calibration's did and their evidence shifts.
CALIBRATION_LABELLED_ROWS = 200


HELD_OUT_NOTE_PREFIX = "this calibration on held-out zoos scanned the same way: "


@dataclass(frozen=True)
class HeldOutCheck:
    """How this fit scored one held-out zoo (models it never saw), scanned the way its mode's scans are:
    written by `benchmarks/detect.py --record-held-out`, dropped by every refit."""

    zoo: str  # what the zoo holds, e.g. "MNIST 28x28, cnn/gapcnn/mlp"
    threshold: float  # the P(vicious) gate the counts are at
    n_honest: int
    honest_flagged: int
    n_leaking: int  # vicious models whose own decoder leaks more than every honest one's
    leaking_flagged: int


@dataclass(frozen=True)
class CalibrationModel:
    mode: str
    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    provenance: dict
    held_out: tuple[HeldOutCheck, ...] = ()

    def probability(self, z_scores: dict[str, float]) -> float:
        x = np.array([np.clip(z_scores[name], -Z_CLIP, Z_CLIP) for name in self.features])
        return float(1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept))))

    def describe(self) -> str:
        p = self.provenance
        return (
            f"logistic calibration ({self.mode}) fitted on {p.get('n_models', '?')} fixtures "
            f"({p.get('n_honest', '?')} honest, {p.get('n_vicious', '?')} vicious) from {p.get('dataset', '?')}, "
            f"{p.get('created', '?')}"
        )

    def held_out_note(self) -> str | None:
        """One line for the report: what this fit did on held-out zoos, so that a reader can weigh a
        flag (or a pass) by how often the same fit erred on models it never saw. None when unmeasured."""
        if not self.held_out:
            return None
        zoos = "; ".join(
            f"{c.zoo} (P >= {c.threshold:.2f}): honest {c.honest_flagged}/{c.n_honest} flagged, "
            f"leaking vicious {c.leaking_flagged}/{c.n_leaking} flagged"
            for c in self.held_out
        )
        return f"{HELD_OUT_NOTE_PREFIX}{zoos}"


# Without --aux the attack and the references learn from the labelled set alone: every model's evidence
# shifts (weaker attacks, noisier references), so those scans have their own fit, keyed "<access>/labelled-only".
LABELLED_ONLY = "labelled-only"
AUXILIARY = "auxiliary"  # the fit made on scans with --aux (modes keyed by access alone)
CALIBRATION_DATA = (AUXILIARY, LABELLED_ONLY)  # what a report's viciousness.calibration_data may say
# Head references (the suspect with its head re-trained) sit closer to the suspect than copies trained from
# scratch, so the same model's z-scores differ by method: head scans have their own fit, keyed
# "white-box/head[/labelled-only]" (a black box has no head to re-train).
HEAD = "head"
SCRATCH = "scratch"
CALIBRATION_REFERENCES = (SCRATCH, HEAD)  # what a report's viciousness.calibration_references may say


def calibration_mode(access: str, labelled_only: bool, references: str = SCRATCH) -> str:
    """The calibration file's key for a scan: `access` is "white-box" or "black-box", `references` the
    reference method the scan used ("scratch" or "head")."""
    key = f"{access}/{HEAD}" if references == HEAD else access
    return f"{key}/{LABELLED_ONLY}" if labelled_only else key


CALIBRATION_ENV = "MODELSCAN_VICIOUS_CALIBRATION"  # benchmarks point this at a refit under test


def calibration_path() -> Path:
    override = os.environ.get(CALIBRATION_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("modelscan_vicious").joinpath("calibration.json")))


def load_calibration(mode: str, path: Path | None = None) -> CalibrationModel:
    path = path or calibration_path()
    try:
        document = json.loads(path.read_text())
        entry = document["modes"][mode]
        return CalibrationModel(
            mode=mode,
            features=tuple(entry["features"]),
            coef=np.asarray(entry["coef"], dtype=np.float64),
            intercept=float(entry["intercept"]),
            # a mode fitted on other scans (labelled-only, head references) carries its own provenance
            provenance={**document.get("provenance", {}), **entry.get("provenance", {})},
            held_out=tuple(HeldOutCheck(**check) for check in entry.get("held_out", [])),
        )
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise DetectorError(f"calibration file {path} is missing or has no '{mode}' model ({err})") from err


def has_calibration(mode: str) -> bool:
    """Whether the calibration file in use has a fit for `mode`."""
    try:
        load_calibration(mode)
    except DetectorError:
        return False
    return True


@dataclass(frozen=True)
class ChosenCalibration:
    """The fit a scan's P(vicious) comes from, and what that fit's own scans were like."""

    model: CalibrationModel
    data: str  # AUXILIARY or LABELLED_ONLY
    references: str  # SCRATCH or HEAD: the reference method of the fit's own scans
    notes: list[str]


def calibration_for_scan(access: str, labelled_only: bool, references: str = SCRATCH) -> ChosenCalibration:
    """The fit made on scans like this one (with or without --aux, from-scratch or head references).

    A calibration file that lacks it (an older or user-made file) falls back to the fit on from-scratch
    references, then to the auxiliary one, and the notes say so: the pipeline keeps such a scan's verdict
    from `passed`, since its P(vicious) was calibrated on other scans."""
    notes: list[str] = []
    if references == HEAD:
        try:
            model = load_calibration(calibration_mode(access, labelled_only, HEAD))
        except DetectorError as err:
            notes.append(
                f"no calibration for head references ({first_line(err)}); P(vicious) uses the one fitted on "
                "references trained from scratch"
            )
        else:
            data = LABELLED_ONLY if labelled_only else AUXILIARY
            what = "without --aux, " if labelled_only else ""
            notes.append(
                f"head references: P(vicious) from the calibration fitted on head-reference scans ({what}same method)"
            )
            return ChosenCalibration(model, data, HEAD, notes + _held_out_notes(model))
    if labelled_only:
        try:
            model = load_calibration(calibration_mode(access, labelled_only=True))
        except DetectorError as err:
            note = f"no calibration for scans without --aux ({first_line(err)}); P(vicious) uses the auxiliary one"
            return ChosenCalibration(load_calibration(access), AUXILIARY, SCRATCH, [*notes, note])
        notes.append("no --aux: P(vicious) from the calibration fitted on scans without --aux")
        return ChosenCalibration(model, LABELLED_ONLY, SCRATCH, notes + _held_out_notes(model))
    model = load_calibration(access)
    return ChosenCalibration(model, AUXILIARY, SCRATCH, notes + _held_out_notes(model))


def _held_out_notes(calibration: CalibrationModel) -> list[str]:
    note = calibration.held_out_note()
    return [note] if note else []


def fit_calibration(rows: list[dict[str, float]], labels: list[int], features: tuple[str, ...]) -> dict:
    """Fit one mode's logistic model; returns the JSON-ready entry."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[np.clip(r[f], -Z_CLIP, Z_CLIP) for f in features] for r in rows])
    model = LogisticRegression(C=0.5, class_weight="balanced", max_iter=1000).fit(x, np.asarray(labels))
    return {"features": list(features), "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])}
