"""action.yml and .pre-commit-hooks.yaml as files: they parse, and agree with the script and the loader."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from modelscan_vicious.loading import ONNX_SUFFIXES, REFUSED_SUFFIXES, TORCHSCRIPT_SUFFIXES

from integration_helpers import REPO

yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit

ACTION = REPO / "action.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
SCRIPT = REPO / "scripts" / "action_scan.sh"
INPUT_REFERENCE = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")  # in ${{ }} and in if: conditions
# Variables the scan step sets from other steps, not from an input of the same name.
NOT_FROM_INPUTS = {"MSV_SCANNER": "${{ steps.install.outputs.scanner }}"}


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def step(action: dict, step_id: str) -> dict:
    (found,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    return found


def test_action_is_a_composite_action_with_described_inputs(action):
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert spec.get("required") or "default" in spec, f"optional input {name} needs a default"
    # labels may come from the settings file (modelscan-vicious.toml), so only models is required
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} == {"models"}


def strings(node: object) -> list[str]:
    """Every string value under a parsed YAML node."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_input_is_used_and_every_used_input_declared(action):
    used = {name for text in strings(action["runs"]) for name in INPUT_REFERENCE.findall(text)}
    assert used == set(action["inputs"])


def test_the_scan_step_passes_each_input_the_script_reads(action):
    read_by_script = set(re.findall(r"\bMSV_[A-Z_]+\b", SCRIPT.read_text()))
    env = step(action, "scan")["env"]
    assert set(env) == read_by_script
    for variable, value in env.items():
        expected = NOT_FROM_INPUTS.get(variable) or f"${{{{ inputs.{variable[4:].lower().replace('_', '-')} }}}}"
        assert value == expected, variable
    assert 'bash "$GITHUB_ACTION_PATH/scripts/action_scan.sh"' in step(action, "scan")["run"]


def test_no_expression_is_pasted_into_a_shell_script(action):
    """Inputs reach shell steps through env: only; `${{ }}` inside run: would be a script injection."""
    for s in action["runs"]["steps"]:
        assert "${{" not in s.get("run", ""), s.get("name")


def test_uploads_run_after_a_failed_scan_and_only_when_there_is_something(action):
    sarif, artifact = (s for s in action["runs"]["steps"] if "uses" in s and "upload" in s["uses"])
    assert sarif["uses"].startswith("github/codeql-action/upload-sarif@")
    assert sarif["if"].startswith("always() &&") and "steps.scan.outputs.sarif-file != ''" in sarif["if"]
    assert sarif["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}"
    assert artifact["uses"].startswith("actions/upload-artifact@")
    assert artifact["if"].startswith("always() &&") and "steps.scan.outputs.report-dir != ''" in artifact["if"]


def test_outputs_name_outputs_the_script_writes(action):
    written = set(re.findall(r"set_output ([a-z-]+)", SCRIPT.read_text()))
    assert {name for name in action["outputs"]} == written
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.scan.outputs.{name} }}}}"


@pytest.fixture(scope="module")
def hooks() -> list[dict]:
    return yaml.safe_load(HOOKS.read_text())


def test_pre_commit_accepts_the_hooks_file():
    pytest.importorskip("pre_commit")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_two_hooks_differ_only_in_where_the_scanner_comes_from(hooks):
    """So the test that runs the system hook speaks for the python one, but for its environment."""
    assert [h["id"] for h in hooks] == ["modelscan-vicious", "modelscan-vicious-system"]
    assert [h["language"] for h in hooks] == ["python", "system"]
    own = {"id", "name", "description", "language"}
    python, system = ({k: v for k, v in h.items() if k not in own} for h in hooks)
    assert python == system


def test_hooks_scan_the_files_the_scanner_loads(hooks):
    accepted = (ONNX_SUFFIXES | TORCHSCRIPT_SUFFIXES) - {".ts"}  # .ts: far more often TypeScript
    for hook in hooks:
        assert hook["entry"].split()[:2] == ["modelscan-vicious", "scan"]
        assert hook["pass_filenames"] is True and hook["require_serial"] is True
        files = re.compile(hook["files"])
        for suffix in accepted:
            assert files.search(f"models/net{suffix}") and files.search(f"models/NET{suffix.upper()}"), suffix
        for name in ("app.ts", "labels.csv", "aux.npz", "model.onnx.data", "README.md", "model.pt.txt"):
            assert not files.search(name), name
        for suffix in REFUSED_SUFFIXES:
            assert not files.search(f"model{suffix}"), suffix
