"""Every documented exit code of `modelscan-vicious scan`, reached through `cli.main`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.commands.scan_runner import run_scan
from modelscan_vicious.config import ScanConfig
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.errors import (
    EXIT_NOTHING_SCANNED,
    EXIT_PASSED,
    EXIT_RISK_FOUND,
    EXIT_SCAN_ERROR,
    EXIT_USAGE_ERROR,
)

from scan_helpers import HIGH_RISK_GATE, files_under, report, scan


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_exit_0_when_both_gates_hold(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    rc = scan(
        [tiny_models.honest_onnx.path], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz
    )
    assert rc == EXIT_PASSED
    doc = report(tmp_path, tiny_models.honest_onnx.path.stem)
    assert doc["verdict"]["status"] == "passed" and doc["verdict"]["exit_code"] == 0
    assert doc["viciousness"]["probability"] < 1e-6
    assert all(p["status"] == "ok" for p in doc["plugins"])


def test_exit_1_on_the_probability_gate(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    rc = scan(
        [tiny_models.honest_onnx.path],
        tmp_path,
        "--fail-on-probability",
        "0",
        "--fail-on-risk",
        HIGH_RISK_GATE,
        labels=labels_csv,
        aux=aux_npz,
    )
    assert rc == EXIT_RISK_FOUND
    verdict = report(tmp_path, tiny_models.honest_onnx.path.stem)["verdict"]
    assert verdict["status"] == "failed" and verdict["reasons"] == [
        r for r in verdict["reasons"] if r.startswith("probability of vicious training")
    ]


def test_exit_1_on_the_risk_gate(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    rc = scan(
        [tiny_models.vicious_torchscript.path], tmp_path, "--fail-on-risk", "0.01", labels=labels_csv, aux=aux_npz
    )
    assert rc == EXIT_RISK_FOUND
    doc = report(tmp_path, tiny_models.vicious_torchscript.path.stem)
    assert doc["model"]["format"] == "torchscript"
    assert len(doc["verdict"]["reasons"]) == 1 and "reconstruction risk R" in doc["verdict"]["reasons"][0]


def corrupt_model(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "corrupt.onnx"
    path.parent.mkdir()
    path.write_bytes(b"\x08\x07garbage, not a protobuf" * 10)
    return path


def malformed_csv(tmp_path: Path, labels_csv: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(labels_csv.read_text() + "seven," + ",".join(["0"] * 64) + "\n")
    return path


@pytest.mark.parametrize("case", ["corrupt model", "wrong input shape", "malformed csv", "too few aux inputs"])
def test_exit_2_on_bad_input_one_line_and_no_report(
    case, tiny_models, labels_csv, aux_npz, tmp_path, capsys, tiny_scan
):
    model, labels, aux, extra = tiny_models.honest_onnx.path, labels_csv, aux_npz, []
    if case == "corrupt model":
        model = corrupt_model(tmp_path)
    elif case == "wrong input shape":
        extra = ["--input-shape", "3,8,8"]
    elif case == "malformed csv":
        labels = malformed_csv(tmp_path, labels_csv)
    else:
        aux = tmp_path / "tiny_aux.npz"
        np.savez(aux, x=np.zeros((15, 1, 8, 8), dtype=np.uint8))
    out = tmp_path / "out"
    assert scan([model], out, *extra, labels=labels, aux=aux) == EXIT_SCAN_ERROR
    line = one_error_line(capsys)
    expected = {
        "corrupt model": "corrupt.onnx",
        "wrong input shape": "(3, 8, 8)",
        "malformed csv": "bad.csv",
        "too few aux inputs": "tiny_aux.npz",
    }[case]
    assert expected in line
    assert files_under(out) == []


def test_exit_2_with_a_report_when_a_check_fails_after_loading(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    tiny_scan.setenv(CALIBRATION_ENV, str(tmp_path / "no-calibration.json"))
    rc = scan(
        [tiny_models.honest_onnx.path], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz
    )
    assert rc == EXIT_SCAN_ERROR
    doc = report(tmp_path, tiny_models.honest_onnx.path.stem)
    assert doc["verdict"]["status"] == "error" and doc["viciousness"] is None
    assert doc["reconstruction"] is not None  # what did run is still reported
    failed = [p for p in doc["plugins"] if p["status"] == "failed"]
    assert [p["name"] for p in failed] == ["finetune-distance"] and "no-calibration.json" in failed[0]["reason"]


def test_exit_3_when_nothing_is_given_to_scan(labels_csv, tmp_path, capsys):
    """MODEL... may be left out when --manifest lists the models; with neither, nothing is scanned."""
    config = ScanConfig(labels=labels_csv, output_dir=tmp_path / "out", quiet=True)
    assert run_scan([], config) == EXIT_NOTHING_SCANNED
    assert "nothing to scan" in capsys.readouterr().err
    assert main(["scan", "--labels", str(labels_csv), "--output-dir", str(tmp_path / "out")]) == EXIT_NOTHING_SCANNED
    assert "nothing to scan: no model given" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--no-such-flag"], "--no-such-flag"),
        (["--budget", "huge"], "--budget"),
        (["--release", "top-0"], "--release"),
        (["--release", "sigmoid"], "--release"),
        (["--format", "json,pdf"], "--format"),
        (["--fail-on-probability", "2"], "--fail-on-probability"),
        (["--fail-on-risk", "0"], "--fail-on-risk"),
        (["--fail-on-risk", "nan"], "--fail-on-risk"),  # NaN used to switch the risk gate off silently
        (["--input-shape", "1,8"], "--input-shape"),
        (["--device", "tpu"], "--device"),
        (["--mean", "a,b"], "--mean"),
    ],
)
def test_exit_4_on_usage_errors(flags, expected, tiny_models, labels_csv, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["scan", str(tiny_models.honest_onnx.path), "--labels", str(labels_csv), "--output-dir", str(out)]
    assert main([*args, *flags]) == EXIT_USAGE_ERROR
    assert expected in one_error_line(capsys)
    assert not out.exists()
