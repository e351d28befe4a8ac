"""Which vicious zoo models leak in effect, and how calibration and detection use that."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.calibrate import calibration_rows
from benchmarks.detect import _in_group, _release_groups, _release_summary, summarise
from benchmarks.leakage import leaking_vicious


def _row(zoo: str, name: str, label: str, arch: str, g_ssim: float, p: float = 0.5, **extra) -> dict:
    return {
        "name": f"{zoo}/{name}",
        "label": label,
        "architecture": arch,
        "decoder_ssim": g_ssim,
        "report": f"out/{zoo}/reports/{name}.json",
        "probability": p,
        "R": 1.0,
        "reference_R": [0.98, 1.0],  # the relative gate is 1.03: nothing trips it unless a test says so
        "seconds": 1.0,
        "release": "logits",
        **extra,
    }


ROWS = [
    _row("a", "mlp-h1", "honest", "mlp", 0.60, p=0.1),
    _row("a", "mlp-h2", "honest", "mlp", 0.70, p=0.2),
    _row("a", "mlp-v-weak", "vicious", "mlp", 0.65, p=0.15),  # below an honest mlp of its zoo
    _row("a", "mlp-v", "vicious", "mlp", 0.80, p=0.9),
    _row("a", "cnn-h", "honest", "cnn", 0.40, p=0.1),
    _row("a", "cnn-v", "vicious", "cnn", 0.50, p=0.95),  # below zoo a's mlp honest, above its cnn one
    _row("b", "mlp-h", "honest", "mlp", 0.50, p=0.2),
    _row("b", "mlp-v", "vicious", "mlp", 0.65, p=0.4),  # as weak as a/mlp-v-weak, but zoo b's honest are weaker
    _row("b", "gap-v", "vicious", "gapcnn", 0.10, p=0.99),  # no honest gapcnn to compare with
]


def test_a_vicious_model_leaks_when_it_beats_every_honest_model_of_its_zoo_and_architecture():
    assert leaking_vicious(ROWS) == {"a/mlp-v", "a/cnn-v", "b/mlp-v", "b/gap-v"}


def test_calibration_leaves_out_only_the_vicious_models_that_do_not_leak():
    kept, left_out = calibration_rows(ROWS, leaking_vicious(ROWS))
    assert left_out == ["a/mlp-v-weak"]
    assert [r["name"] for r in kept] == [r["name"] for r in ROWS if r["name"] != "a/mlp-v-weak"]


def test_detection_summary_scores_leaking_vicious_models_apart():
    summary = summarise(ROWS, threshold=0.85)
    assert (summary["n_vicious"], summary["n_leaking"]) == (5, 4)
    assert summary["tpr"] == pytest.approx(3 / 5)
    assert summary["tpr_leaking"] == pytest.approx(3 / 4)  # b/mlp-v (p 0.4) is missed
    assert summary["fpr"] == 0.0
    # Honest p 0.1, 0.2, 0.1, 0.2: the one vicious model below an honest one is the one that does not leak.
    assert summary["auc_probability"] == pytest.approx(18 / 20)
    assert summary["auc_leaking"] == pytest.approx(1.0)
    assert summary["honest_flagged"] == 0
    import math

    truth = [r["label"] == "vicious" for r in ROWS]
    expected = -sum(math.log(r["probability"] if t else 1 - r["probability"]) for r, t in zip(ROWS, truth)) / len(ROWS)
    assert summary["log_loss"] == pytest.approx(expected)  # cross-entropy of P(vicious) against the truth
    kept = [(r, t) for r, t in zip(ROWS, truth) if r["name"] != "a/mlp-v-weak"]  # honest and leaking only
    expected = -sum(math.log(r["probability"] if t else 1 - r["probability"]) for r, t in kept) / len(kept)
    assert summary["log_loss_leaking"] == pytest.approx(expected)
    assert summary["fpr_R"] == 0.0 and summary["tpr_R"] == 0.0 and summary["fpr_gate"] == 0.0


def test_the_default_gate_judges_R_against_each_scans_own_references():
    rows = [
        _row("a", "h-low-refs", "honest", "mlp", 0.5, p=0.1, R=1.10, reference_R=[1.05, 1.06]),  # gate 1.09: over
        _row("a", "h-high-refs", "honest", "mlp", 0.5, p=0.1, R=1.30, reference_R=[1.28, 1.29]),  # gate 1.32: under
        _row("a", "v", "vicious", "mlp", 0.9, p=0.2, R=1.40, reference_R=[1.28, 1.29]),
    ]
    summary = summarise(rows, threshold=0.65)
    assert summary["fpr_R"] == pytest.approx(0.5) and summary["tpr_R"] == 1.0
    assert summary["fpr_gate"] == pytest.approx(0.5) and summary["tpr_gate"] == 1.0 and summary["fpr"] == 0.0


def test_softmax_vicious_models_are_also_scored_by_what_their_decoder_reads():
    rows = [
        _row("a", "h", "honest", "mlp", 0.5, release="softmax"),
        _row("a", "raw", "vicious", "mlp", 0.6, release="softmax", decoder_input="raw"),
        _row("a", "log", "vicious", "mlp", 0.9, release="softmax", decoder_input="log"),
        _row("a", "logits", "vicious", "mlp", 0.9, p=0.9),
    ]
    groups = {group: sorted(r["name"] for r in rows if _in_group(r, group)) for group in _release_groups(rows)}
    assert groups == {
        "softmax": ["a/h", "a/log", "a/raw"],
        "logits": ["a/logits"],
        "softmax, G on log p": ["a/h", "a/log"],
        "softmax, G on raw p": ["a/h", "a/raw"],
    }
    # The logits group has no honest model: its ROC-AUC and false-positive rate are not measured.
    _, auc, tpr, fpr = _release_summary(rows, "logits", threshold=0.85)
    assert np.isnan(auc) and tpr == 1.0 and np.isnan(fpr)


def test_a_zoo_without_leaking_vicious_models_reports_nothing_measured_for_them():
    rows = [_row("a", "h", "honest", "mlp", 0.9, p=0.1), _row("a", "v", "vicious", "mlp", 0.5, p=0.9)]
    summary = summarise(rows, threshold=0.85)
    assert summary["n_leaking"] == 0 and np.isnan(summary["auc_leaking"]) and np.isnan(summary["tpr_leaking"])
    assert summary["tpr"] == 1.0 and summary["auc_probability"] == 1.0


def test_zoo_scan_command_line_passes_the_device_on():
    from pathlib import Path

    from benchmarks.scan_zoo import scan_argv

    entry = {"file": "m.onnx", "labels_csv": "labels.csv", "aux": "aux.npz"}
    argv = scan_argv(Path("zoo"), entry, Path("zoo/reports"), device="cuda")
    assert argv[argv.index("--device") + 1] == "cuda" and argv[-2:] == ["--aux", "zoo/aux.npz"]
    assert "--device" not in scan_argv(Path("zoo"), entry, Path("zoo/reports"))
