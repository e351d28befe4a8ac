"""scripts/action_scan.sh, run with the environment variables action.yml gives it.

The slow test scans a real sample model; the others use the real scanner only where it exits before
scanning (usage error, missing model), or a stand-in scanner that records its arguments.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from modelscan_vicious.errors import EXIT_NOTHING_SCANNED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR, EXIT_USAGE_ERROR

from integration_helpers import REPO, SCANNER

SCRIPT = REPO / "scripts" / "action_scan.sh"


def run_action_scan(cwd: Path, env: dict[str, str], **inputs: str) -> subprocess.CompletedProcess[str]:
    """Run the script in `cwd` (the workspace) as the action's scan step would, under GitHub Actions."""
    env = {**env, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(cwd / "github_output")}
    env.update({f"MSV_{name.upper()}": value for name, value in inputs.items()})
    env.setdefault("MSV_SCANNER", str(SCANNER))
    return subprocess.run(["bash", str(SCRIPT)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def step_outputs(cwd: Path) -> dict[str, str]:
    path = cwd / "github_output"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.slow
def test_risk_found_writes_every_report_and_exits_1(sample_workspace, subprocess_env):
    summary = sample_workspace / "summary.md"
    subprocess_env["GITHUB_STEP_SUMMARY"] = str(summary)
    done = run_action_scan(
        sample_workspace,
        subprocess_env,
        models="models/*.pt\nmodels/absent/*.onnx\n",
        labels="data/labels.csv",
        aux="data/aux.npz",
        budget="fast",
        output_dir="reports",
    )
    assert done.returncode == EXIT_RISK_FOUND, done.stderr
    reports = sample_workspace / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "modelscan-vicious.sarif",
        "vicious-mlp.html",
        "vicious-mlp.json",
    ]
    assert json.loads((reports / "vicious-mlp.json").read_text())["verdict"]["status"] == "failed"
    sarif = json.loads((reports / "modelscan-vicious.sarif").read_text())
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "models/vicious-mlp.pt"  # relative to the workspace, as code scanning needs
    assert step_outputs(sample_workspace) == {
        "exit-code": "1",
        "report-dir": "reports",
        "sarif-file": "reports/modelscan-vicious.sarif",
    }
    assert "::warning::models: 'models/absent/*.onnx' matches no file" in done.stdout
    assert "::error::modelscan-vicious: exit 1, risk found" in done.stdout
    assert "Exit code 1 for 1 model(s)" in summary.read_text()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"budget": "bogus"}, "--budget must be one of fast, standard, thorough"),  # the scanner's own check
        ({"labels": ""}, "--labels"),  # none given, none in a settings file: the scanner's usage error
        ({"models": " \n "}, "models is required"),
        ({"allow_weak_containment": "maybe"}, "allow-weak-containment must be true or false"),
    ],
)
def test_usage_errors_exit_4(sample_workspace, subprocess_env, inputs, message):
    given = {"models": "models/vicious-mlp.pt", "labels": "data/labels.csv", **inputs}
    done = run_action_scan(sample_workspace, subprocess_env, **given)
    assert done.returncode == EXIT_USAGE_ERROR, done.stdout + done.stderr
    assert message in done.stdout + done.stderr
    assert "::error::" in done.stdout
    assert step_outputs(sample_workspace)["exit-code"] == "4"
    assert not (sample_workspace / "modelscan-report").exists()


def test_missing_model_file_is_the_scanners_error(sample_workspace, subprocess_env):
    done = run_action_scan(
        sample_workspace, subprocess_env, models="models/absent.pt", labels="data/labels.csv", output_dir="reports"
    )
    assert done.returncode == EXIT_SCAN_ERROR, done.stdout + done.stderr
    assert "error: models/absent.pt: model file not found" in done.stderr
    assert "::error::modelscan-vicious: exit 2, scan error" in done.stdout
    outputs = step_outputs(sample_workspace)
    assert outputs["exit-code"] == "2" and "sarif-file" not in outputs  # nothing for code scanning


def test_patterns_that_match_nothing_scan_nothing(sample_workspace, subprocess_env):
    done = run_action_scan(sample_workspace, subprocess_env, models="models/*.onnx other/**/*.pt", labels="x.csv")
    assert done.returncode == EXIT_NOTHING_SCANNED
    assert done.stdout.count("::warning::") == 2
    assert "::error::modelscan-vicious: exit 3, nothing scanned" in done.stdout
    assert step_outputs(sample_workspace) == {"exit-code": "3"}


def recording_scanner(tmp_path: Path, exit_code: int = 0) -> tuple[Path, Path]:
    """A stand-in scanner that writes each argument it gets on its own line and exits `exit_code`."""
    argv = tmp_path / "argv.txt"
    scanner = tmp_path / "fake-scanner"
    scanner.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "{argv}"\nexit {exit_code}\n')
    scanner.chmod(0o755)
    return scanner, argv


def test_inputs_become_scan_arguments(sample_workspace, subprocess_env, tmp_path):
    (sample_workspace / "models" / "sub").mkdir()
    for name in ("sub/b.onnx", "with space.onnx", "-looks-like-a-flag.pt"):
        (sample_workspace / "models" / name).write_bytes(b"x")
    scanner, argv = recording_scanner(tmp_path)
    done = run_action_scan(
        sample_workspace,
        subprocess_env,
        scanner=str(scanner),
        models="models/**/*.onnx\n  models/vicious-mlp.pt  \nmodels/-looks-like-a-flag.pt\nmodels/vicious-mlp.pt",
        labels="data/labels.csv",
        config="ci/scan settings.toml",
        aux="data/aux.npz",
        budget="standard",
        release="top-3",
        fail_on_probability="0.5",
        fail_on_risk="1.3",
        output_dir="out dir",
        allow_weak_containment="True",
        extra_args="--input-shape 1,8,8\n --mitigate",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv.read_text().splitlines() == [
        "scan",
        "--format",
        "json,html,sarif",
        "--output-dir",
        "out dir",
        "--config",
        "ci/scan settings.toml",
        "--labels",
        "data/labels.csv",
        "--aux",
        "data/aux.npz",
        "--budget",
        "standard",
        "--release",
        "top-3",
        "--fail-on-probability",
        "0.5",
        "--fail-on-risk",
        "1.3",
        "--allow-weak-containment",
        "--input-shape",
        "1,8,8",
        "--mitigate",
        "--",  # models follow, whatever their names look like
        "models/sub/b.onnx",
        "models/with space.onnx",
        "models/vicious-mlp.pt",  # once, though named twice
        "models/-looks-like-a-flag.pt",
    ]


def test_a_single_line_of_models_is_split_on_spaces(sample_workspace, subprocess_env, tmp_path):
    scanner, argv = recording_scanner(tmp_path)
    run_action_scan(
        sample_workspace, subprocess_env, scanner=str(scanner), models="models/vicious-mlp.pt  b.onnx", labels="l.csv"
    )
    assert argv.read_text().splitlines()[-3:] == ["--", "models/vicious-mlp.pt", "b.onnx"]


@pytest.mark.parametrize(("code", "meaning"), [(0, "passed"), (1, "risk found"), (2, "scan error"), (4, "usage")])
def test_the_scanners_exit_code_is_kept_and_explained(sample_workspace, subprocess_env, tmp_path, code, meaning):
    scanner, _ = recording_scanner(tmp_path, exit_code=code)
    done = run_action_scan(
        sample_workspace, subprocess_env, scanner=str(scanner), models="models/vicious-mlp.pt", labels="l.csv"
    )
    assert done.returncode == code
    assert f"modelscan-vicious: exit {code}, {meaning}" in done.stdout
    assert step_outputs(sample_workspace)["exit-code"] == str(code)


def test_annotations_cannot_be_ended_by_input_text(sample_workspace, subprocess_env):
    done = run_action_scan(sample_workspace, subprocess_env, models="a%b/*.pt", labels="l.csv")
    assert "::warning::models: 'a%25b/*.pt' matches no file" in done.stdout
