"""What a user does: `pip install .` into a fresh virtual environment, then scan an ONNX sample white-box."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.mark.slow
def test_pip_install_gives_the_whole_tool(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=IGNORED)  # a clean copy: no build/ left over from an earlier build
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # The pinned torch first: a looser requirement would pull the multi-GB CUDA build (README, "Which PyTorch").
    subprocess.run([*pip, "torch==2.13.0", str(source)], check=True, timeout=1200)
    out = tmp_path / "report"
    samples = REPO / "sample_models"
    scan = [
        str(venv / "bin" / "modelscan-vicious"),
        "scan",
        str(samples / "vicious-cnn.onnx"),
        "--labels",
        str(samples / "digits_labels.csv"),
        "--aux",
        str(samples / "digits_aux.npz"),
        "--format",
        "json",
        "--output-dir",
        str(out),
        "-q",
    ]
    done = subprocess.run(scan, capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "2"})
    report = json.loads((out / "vicious-cnn.json").read_text())
    assert report["model"]["trainable"] is True, done.stderr  # the ONNX converter came with `pip install .`
    assert report["verdict"]["status"] != "error" and done.returncode == report["verdict"]["exit_code"]
    assert "onnx2torch" not in report["environment"]["packages"]
